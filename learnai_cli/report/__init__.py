"""`learnai report`: self-contained HTML pages read from run files alone (no torch): collect.py (a run's files into a
plain dict, tolerant of damage), series.py (the interactive charts' data), images.py (the static images, drawn in
memory by the plots package), page.py (the document and its escaped pieces), run_page.py (one run), comparison.py
(several runs), study.py (a tune study or a sweep folder); charts.js draws the charts with the vendored uPlot."""
