"""The staff web desk: the grid worker's order page (from a signed link), the operations
view, and the JSON API behind both. Routes, templates and static files live together
here, each page's template beside the route that renders it."""
