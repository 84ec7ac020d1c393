"""Visible checks of warmup_cosine: every step's learning rate against the contract."""

import numpy as np

from grader.checks import Call, check, expect, fail, show_table
from grader.checks.figures import Row

from ._common import schedule_array


@check("warmup_cosine", points=3)
def test_warmup_cosine_values(submission, reference):
    """warmup_cosine(12, base_lr=0.1, warmup_steps=3): every step's learning rate."""
    call = Call("warmup_cosine", 12, base_lr=0.1, warmup_steps=3)
    mine = schedule_array(call.on(submission), 12, f"`{call}`")
    want = schedule_array(call.on(reference), 12, "the reference schedule")
    ok = np.isclose(mine, want, rtol=1e-6, atol=1e-9)
    rows = [
        Row([str(step), f"{want[step]:.6f}", f"{mine[step]:.6f}"], bool(ok[step]))
        for step in range(12)
    ]
    show_table(f"{call}, step by step", ["step", "expected", "yours"], rows)
    if not ok.all():
        step = int(np.argmin(ok))
        hint = (
            "during warm-up, step s has base_lr * (s + 1) / warmup_steps: the first step is not 0."
            if step < 3
            else "after warm-up, the cosine's progress is (s - warmup_steps) / "
            "(total_steps - warmup_steps)."
        )
        raise fail(
            f"the learning rate at step {step} of `{call}` to be {want[step]:.6f}",
            f"{mine[step]:.6f}",
            hint,
        )


@check("warmup_cosine", points=1)
def test_warmup_cosine_no_warmup(submission, reference):
    """Without warm-up, the schedule starts at base_lr and only decreases."""
    call = Call("warmup_cosine", 8, base_lr=0.5, warmup_steps=0)
    mine = schedule_array(call.on(submission), 8, f"`{call}`")
    want = schedule_array(call.on(reference), 8, "the reference schedule")
    expect(
        bool(np.isclose(mine[0], 0.5)),
        f"`{call}` to start at base_lr = 0.5",
        f"{mine[0]:.6f} at step 0",
        "warmup_steps = 0 means the cosine starts at once, at its top.",
    )
    expect(
        bool(np.all(np.diff(mine) <= 1e-12)),
        f"`{call}` never to increase",
        "a learning rate that goes up",
    )
    expect(
        bool(np.allclose(mine, want, rtol=1e-6, atol=1e-9)),
        f"`{call}` to be {np.round(want, 6).tolist()}",
        f"{np.round(mine, 6).tolist()}",
    )
