"""Page sections: each module renders one part of the page and owns its session-state keys."""
