"""Rules of diffusers' noise schedulers, as their documentation states them: `add_noise`,
`scale_model_input` and `step` give a sample of the shape of the sample they are given.

A scheduler is made (`DDIMScheduler(...)`, `.from_pretrained(...)`, `.from_config(...)`)
as a value of its own kind, whose methods these rules read.
"""

from .._values import LayerV, TupV, Value
from ._registry import Call, _Pass, function, layer

SCHEDULER = "diffusers scheduler"
_KINDS = """DDIMScheduler DDPMScheduler PNDMScheduler EulerDiscreteScheduler
EulerAncestralDiscreteScheduler LMSDiscreteScheduler HeunDiscreteScheduler
DPMSolverMultistepScheduler DPMSolverSinglestepScheduler UniPCMultistepScheduler""".split()
_MADE = [
    f"diffusers.{where}{kind}{how}"
    for where in ("", "schedulers.")
    for kind in _KINDS
    for how in ("", ".from_pretrained", ".from_config")
]


@function(*_MADE)
def scheduler(c: Call) -> Value:
    return LayerV(SCHEDULER, ())


@layer(f"{SCHEDULER}.scale_model_input")
def scale_model_input(c: Call) -> "Value | _Pass":
    """`scale_model_input(sample, timestep)`: the sample, scaled."""
    sample = c.arg(0, "sample")
    return sample if isinstance(sample, tuple) else None


@layer(f"{SCHEDULER}.add_noise")
def add_noise(c: Call) -> "Value | _Pass":
    """`add_noise(original_samples, noise, timesteps)`: the samples with the noise mixed in,
    each sample by its timestep's weight; the noise of the samples' shape."""
    samples, noise = c.arg(0, "original_samples"), c.arg(1, "noise")
    return samples if isinstance(samples, tuple) and samples == noise else None


@layer(f"{SCHEDULER}.step")
def step(c: Call) -> "Value | _Pass":
    """`step(model_output, timestep, sample)`: an output whose `prev_sample` and
    `pred_original_sample` are of the sample's shape, where the model's output is too."""
    output, sample = c.arg(0, "model_output"), c.arg(2, "sample")
    if "return_dict" in c.kwargs or not isinstance(sample, tuple) or output != sample:
        return None
    return TupV((sample, sample), ("prev_sample", "pred_original_sample"))
