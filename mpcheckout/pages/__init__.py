"""View models of the status page (`serve` at /ui/): one module per page, each a plain function
that calls the services and returns a dataclass. The server renders a model as HTML (a Jinja2
template) or as JSON (the same model), so the page and its JSON can never disagree. A new
section is a new view model and a new template.

Nothing here knows HTTP or HTML; secrets are masked here, before any face sees a payload.
"""
