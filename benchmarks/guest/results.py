"""What the guest side of every benchmark shares: the spread of a set of
figures, and where its samples go."""

import json
import os
import statistics


def summary(values):
    """Median, min and max."""
    return statistics.median(values), min(values), max(values)


def save(name, data):
    """Writes DATA as JSON to $RXE_HMM_RESULTS/NAME, when there is one."""
    results = os.environ.get("RXE_HMM_RESULTS")
    if results:
        with open(os.path.join(results, name), "w") as f:
            json.dump(data, f, indent=1)
