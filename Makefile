# Short names for the everyday commands. The README's two commands work without make.
.PHONY: serve test lint format bench

serve:  ## the dashboard on the demo export (generated on first run)
	pip install -r requirements.txt && streamlit run dashboard/app.py

test:  ## every test, browser tests included (needs Debian's chromium)
	pip install -r requirements-dev.txt && python -m pytest -q

lint:  ## what CI checks besides the tests
	ruff check . && ruff format --check .

format:
	ruff check --fix . && ruff format .

bench:  ## scale benchmark at 1M enrollments; figures go to benchmarks/results/
	python -m benchmarks.bench_scale --sizes 1000000
