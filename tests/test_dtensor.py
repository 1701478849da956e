"""Checks see the global shape of a sharded `DTensor`, on 2 gloo processes on localhost."""

import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

WORKER = textwrap.dedent(
    """
    import torch
    import torch.distributed as dist
    from jaxtyping import Float
    from torch import Tensor
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor

    import shapesafe

    @shapesafe.checked
    def project(x: Float[Tensor, "batch d"], w: Float[Tensor, "d e"]) -> Float[Tensor, "batch e"]:
        return x @ w

    @shapesafe.checked
    def eight_rows(x: Float[Tensor, "8 d"]) -> Float[Tensor, "8 d"]:
        return x

    dist.init_process_group("gloo")
    mesh = init_device_mesh("cpu", (2,))
    torch.manual_seed(0)
    x = distribute_tensor(torch.randn(8, 4), mesh, [Shard(0)])
    w = distribute_tensor(torch.randn(4, 3), mesh, [Replicate()])
    assert tuple(x.to_local().shape) == (4, 4) and tuple(x.shape) == (8, 4)
    for _ in range(2):  # a miss, then a hit
        out = project(x, w)
        assert tuple(out.shape) == (8, 3), out.shape
        assert tuple(eight_rows(x).shape) == (8, 4)
    wider = distribute_tensor(torch.randn(12, 4), mesh, [Shard(0)])  # a new shape
    assert tuple(project(wider, w).shape) == (12, 3)
    six = distribute_tensor(torch.randn(6, 4), mesh, [Shard(0)])  # 3 rows per process
    try:
        eight_rows(six)
    except shapesafe.ShapeError as e:
        first = str(e).splitlines()[0]
        assert "is 6 at x.shape[0], expected 8" in first, first
    else:
        raise AssertionError("6 global rows passed a check for 8")
    dist.barrier()  # neither rank tears gloo down while the other still uses it
    dist.destroy_process_group()
    print("ok")
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")
def test_checks_see_the_global_shape_of_a_sharded_dtensor() -> None:
    port = free_port()
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE="2",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            OMP_NUM_THREADS="1",
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for code, out, err in results:
        assert code == 0, err[-2000:]
        assert out.strip().splitlines()[-1] == "ok"
