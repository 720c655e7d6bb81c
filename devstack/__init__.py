"""The one-machine stack for `make demo` / `make up` / `make down`.

A small Django app (installed by the local and test settings, never by
production): the `runstack` command and its supervisor, the embedded Redis, the
demo client and its sample corpus. It may import jobs and summarizer_project;
they never import it.
"""
