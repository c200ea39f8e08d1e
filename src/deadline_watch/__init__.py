"""deadline_watch: milestone reminders by SMS and overdue escalation for key-project registries."""

__version__ = "0.1.0"
__all__ = ["__version__"]
