"""The static checker on diffusers' noise schedulers: `add_noise`, `scale_model_input` and
`step(...).prev_sample` give a sample of the shape of the sample they are given, so a
denoising loop keeps the latents' shape, and a wrong annotation of them is caught."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
from tests.helpers import annotated_relations, static_findings

HEADER = """\
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from jaxtyping import Float
from torch import Tensor, nn
"""

# A guidance module that picks its scheduler by a flag, noises latents and denoises them in
# a loop with a model of annotated shapes. `{noise}` is the noise, `{ret}` the annotated
# return, `{out}` what the model's output is before the step.
GUIDANCE = """\
class Guidance(nn.Module):
    def __init__(self, ddim: bool) -> None:
        super().__init__()
        if ddim:
            self.scheduler = DDIMScheduler.from_pretrained("sd", subfolder="scheduler")
        else:
            self.scheduler = DDPMScheduler(num_train_timesteps=1000)
    def unet(self, x: Float[Tensor, "B 4 H W"], t: Tensor) -> Float[Tensor, "B 4 H W"]:
        return x
    def edit(self, latents: Float[Tensor, "B 4 H W"], t: Tensor) -> Float[Tensor, "{ret}"]:
        noise = {noise}
        noisy = self.scheduler.add_noise(latents, noise, t)
        for s in self.scheduler.timesteps:
            pred = self.unet(self.scheduler.scale_model_input(noisy, s), s)
            noisy = self.scheduler.step({out}, s, noisy).prev_sample
        return noisy
"""


def check(tmp_path: Path, stats: Stats | None = None, **parts: str) -> list[str]:
    source = GUIDANCE.format(**{"noise": "torch.randn_like(latents)", "out": "pred", **parts})
    found = static_findings(tmp_path, source, HEADER, relative=True, stats=stats)
    return [f.partition(": ")[2] for f in found]


def test_a_denoising_loop_keeps_the_latents_shape(tmp_path: Path) -> None:
    stats = Stats()
    assert check(tmp_path, stats, ret="B 4 H W") == []
    assert annotated_relations(stats) == (3, 3)


def test_a_wrong_return_of_denoised_latents_is_caught(tmp_path: Path) -> None:
    assert check(tmp_path, ret="B 3 H W") == [
        'return of edit(): dim \'3\' is 4 in noisy "B 4 H W", expected 3 ("B 3 H W")'
    ]


@pytest.mark.parametrize(
    "parts",
    [
        # Noise of another shape: what `add_noise` gives is what the two broadcast to.
        pytest.param({"noise": "torch.randn(4, 1, 1)"}, id="noise-of-another-shape"),
        # A model output of another shape than the sample: the step's sample is unknown.
        pytest.param({"out": "pred[:, :1]"}, id="output-of-another-shape"),
    ],
)
def test_a_step_on_shapes_that_differ_says_nothing(tmp_path: Path, parts: dict[str, str]) -> None:
    stats = Stats()
    assert check(tmp_path, stats, ret="B 3 H W", **parts) == []
    assert annotated_relations(stats)[0] < annotated_relations(stats)[1]
