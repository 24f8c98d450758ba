# ruff: noqa: B018 - a vulture whitelist is bare attribute references
"""Names vulture cannot see used: attributes the site's Jinja2 templates read, and the asv
publisher that asv finds as a subclass of ``OutputPublisher``. Not a test module; ``make lint``
reads it so that dead code elsewhere is still reported.
"""

from bulkinsert.site import charts, landing, licences, publisher, releases

charts.Dot.y_high
charts.Line.colour
charts.Tick.pos
charts.LineChart.plot_width
charts.LineChart.plot_height
charts.LineChart.rotate_x_labels
charts.ShareBar.driver
licences.Shipped.purpose
licences.Shipped.licence
releases.ReleaseFinding.notes_url
publisher.BulkinsertSite.button_label
publisher.BulkinsertSite.description
publisher.BulkinsertSite.publish
landing.FindingLine.against
landing.EnvironmentSummary.more_findings
landing.Watched.newest_release
