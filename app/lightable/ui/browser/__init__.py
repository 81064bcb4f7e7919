"""The data-set browser: a virtualized thumbnail grid with filters and sorting."""

from lightable.ui.browser.widget import BrowserWidget

__all__ = ["BrowserWidget"]
