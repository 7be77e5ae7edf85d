"""Reports leaders read (日报/周报/月度简报): built from ticketing/reports.py's queries
(build.py), rendered as XLSX (xlsx.py) and PDF (pdf.py) and shown by the console's pages."""
