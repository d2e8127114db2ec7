"""Reports: plots, number formatting, Jinja templates to HTML, WeasyPrint to PDF."""
