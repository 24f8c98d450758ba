"""Reading results: metrics, statistics, statuses, change points, verdicts and reports."""
