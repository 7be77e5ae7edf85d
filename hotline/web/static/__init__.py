"""Static assets of the web app (a package so that its files ship as package data)."""
