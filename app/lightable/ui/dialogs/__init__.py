"""Modal dialogs opened from the main window's menus."""
