from lightable.ui.dashboard.panel import DashboardPanel

__all__ = ["DashboardPanel"]
