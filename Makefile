# Two commands do everything on a fresh machine:
#   make book   create .venv (pinned requirements + sprl), execute every notebook, build the HTML
#   make test   the whole suite: lib tests, every notebook under nbval, browser tests of the HTML
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HTML := _build/html/index.html
BOOK_SOURCES := $(shell find book lib -type f \( -name '*.ipynb' -o -name '*.md' -o -name '*.py' -o -name '*.bib' \) -not -path '*/.ipynb_checkpoints/*' 2>/dev/null) _config.yml _toc.yml

.PHONY: book student assignments test test-lib test-min test-notebooks test-browser clean help

help:
	@echo "make book   build the HTML book into _build/html (creates .venv first)"
	@echo "make test   run the whole test suite (builds the book first if needed)"
	@echo "make student  a student edition without solutions, into _build/student/html"
	@echo "make assignments  student notebooks and autograder zips into _build/assignments"
	@echo "make clean  remove _build (keeps .venv)"

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

# The book's own configuration (book/_ext/sprl_static.py) makes figures pre-rendered HTML
# sliders (no kernel, no CDN needed), so a plain `jupyter-book build .` gives the same pages.
$(HTML): $(STAMP) $(BOOK_SOURCES)
	MPLBACKEND=agg $(VENV)/bin/jupyter-book build . --builder html --all -W --keep-going
	@touch $(HTML)

book: $(HTML)
	@echo "The book is at $(abspath _build/html/index.html)"

# Student edition: the same book with every solution removed (book/_ext/student_edition.py),
# for handing chapters out as assignments.
student: $(STAMP)
	mkdir -p _build/student
	$(PY) -c "import yaml; c = yaml.safe_load(open('_config.yml')); \
	import os; ext = os.path.abspath('book/_ext'); \
	c['sphinx']['local_extensions'] = {'sprl_static': ext, 'sprl_api': ext, 'student_edition': ext}; \
	c['title'] += ' (student edition)'; \
	yaml.safe_dump(c, open('_build/student/_config.yml', 'w'), sort_keys=False)"
	MPLBACKEND=agg $(VENV)/bin/jupyter-book build . --builder html --all -W --keep-going \
		--config _build/student/_config.yml --path-output _build/student
	@echo "The student edition is at $(abspath _build/student/_build/html/index.html)"

# Autograded assignments (otter-grader): for each assignments/NN-name.ipynb, the student
# notebook (solutions and hidden tests stripped) and the autograder zip, graded locally with
# `otter run -a _build/assignments/NN-name/autograder/*.zip SUBMISSION.ipynb` (no Docker).
assignments: $(STAMP)
	$(PY) tools/make_assignments.py _build/assignments

test: $(HTML)
	$(PY) -m pytest tests lib book --nbval-lax --nbval-cell-timeout=180 -p no:cacheprovider

# The lower bounds of pyproject.toml: the library's tests in a venv of the oldest allowed
# versions (requirements-min.txt). Needs the package index; not part of `make test`.
MIN_TESTS := $(filter-out tests/test_assignments.py tests/test_browser.py tests/test_api_reference.py \
	tests/test_colab_setup.py tests/test_course_use.py tests/test_student_edition.py, $(wildcard tests/test_*.py))
test-min:
	test -x .venv-min/bin/python || $(PYTHON) -m venv .venv-min
	.venv-min/bin/pip install --disable-pip-version-check -q -r requirements-min.txt
	PYTHONPATH=lib .venv-min/bin/python -m pytest -q -p no:cacheprovider -o addopts="" $(MIN_TESTS)

test-lib: $(STAMP)
	$(PY) -m pytest tests lib -m "not browser" -p no:cacheprovider

test-notebooks: $(STAMP)
	$(PY) -m pytest book --nbval-lax --nbval-cell-timeout=180 -p no:cacheprovider

test-browser: $(HTML)
	$(PY) -m pytest tests -m browser -p no:cacheprovider

clean:
	rm -rf _build
