"""report.html: one self-contained page of charts, drawn as SVG through Jinja2 templates."""
