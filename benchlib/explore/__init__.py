"""`benchlib explore`: known accelerations tried safely on a project, ending in a change.

catalogue (what may be tried, and why) -> facts (what the project's pytest loads) -> candidates
(the levers that apply, as strategies) -> preflight (each starts and selects the same tests) ->
race (paired rounds against the configured lane, within a budget) -> safety (same outcomes,
same coverage, the same work) -> writeout (explore.md, a patch, strategies in TOML).
"""
