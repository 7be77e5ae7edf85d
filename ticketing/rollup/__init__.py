"""Report rollups: the report queries' counts aggregated ahead, per UTC hour and per UTC day.

A month of a big city's year is ~860,000 calls and as many cases; a report reads it in
milliseconds only if the counts were summed before it asked (bench/reports.py). The rollup
tables (tables.py) hold, per hour and per day, the same counts the raw queries of
ticketing/reports.py compute, keyed finely enough (queue, category, area, units, holder) that
any filter of ReportFilter is a WHERE on them. The raw queries stay the definition: a rollup
hour is made by running them over that hour, grouped finer (calls.py, cases.py).

Rows go stale when their sources change: database triggers mark the UTC hours a write touches
in ``rollup_dirty`` (migration 0017_rollup), the refresher (refresh.py) rebuilds them, and until
then a report reads those hours raw (ledger.py plans which hours come from where). Nothing here
is needed for a figure to be right: an empty rollup means every report reads raw rows.
"""
