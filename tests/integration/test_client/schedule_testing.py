"""Settings of the schedule tests, shared by their fixtures and test modules."""

# The dispatcher's period in these tests, in seconds, so a due run starts within about a second.
DISPATCH_PERIOD_SECONDS = 1
# Per-user schedule limit in these tests, low enough that the 2,000-schedule test reaches it.
MAX_SCHEDULES = 50
