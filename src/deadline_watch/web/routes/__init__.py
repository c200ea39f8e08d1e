"""One module of routes per page or area of the board."""
