"""`stampede explore`: search one value of an experiment for the resilience margin.

    search.py   which value to probe next (bisection, repeats at the bracket's ends)
    setup.py    the explore block checked against the experiment, a probe's experiment
    budget.py   what a search costs, for `stampede plan`
    reset.py    the embedded stack put back to its start state between probes
    probes.py   one stack for the whole search, one run folder per probe
    output.py   explore.json, the exit status and the terminal's `margin: ...` line
    report.py   report.html: each invariant's measured value against the varied value
    run.py      `stampede explore FILE` from file to explore folder
"""
