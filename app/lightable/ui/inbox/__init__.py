from lightable.ui.inbox.panel import FlagDialog, GuidanceBar, InboxPanel

__all__ = ["FlagDialog", "GuidanceBar", "InboxPanel"]
