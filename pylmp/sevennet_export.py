"""Compile a SevenNet model into an AOTInductor package for pair_style pylmp/torch (the fast route).

`sevenn get_model` writes TorchScript; run by libtorch, its backward pass spends most of its time filling zeros
for the gradients of the many slices e3nn's tensor products take, one small kernel at a time. Here the model is
traced once with its force computation unrolled (make_fx over energy + autograd.grad, as nequip-compile does),
exported with dynamic node and edge counts, and compiled by AOTInductor, which fuses those slices and scatters
into a few loops of machine code for this CPU (or GPU). Same weights, same arithmetic up to float32 rounding.

Inductor writes its CPU loops for the number of torch threads at compile time: compiled on 2 threads they carry
OpenMP regions and atomic scatter-adds, and on the one thread per MPI rank the plugin runs they took 1.35-1.45 s
per call at 108 atoms against 0.76-0.96 s for a package compiled on one thread. So the package is compiled for
--threads (default 1, as `pair_style pylmp/torch` runs); for a plugin run with `threads N`, compile with --threads N.

The package's one function (all on the package's device):
  inputs   species int64 [nodes] (model species index), edge_index int64 [2, E] (row 0 centre, row 1 neighbour),
           edge_vec float32 [E, 3] = x_neighbour - x_centre, local_mask float32 [nodes] (1 local atom, 0 ghost)
  outputs  atomic_energy [nodes], edge_grad [E, 3] = d(sum of local atomic energies)/d(edge_vec)
Metadata: pylmp_family SevenNet, type_names, r_max, num_layers (message-passing depth for the ghost shell),
model_dtype, sevenn_version, source. The plugin (plugin/model_sevennet.cpp) tells it from a nequip package by
pylmp_family.

Usage: python -m pylmp.sevennet_export CHECKPOINT OUT.pt2 [--device cpu|cuda] [--modal NAME] [--threads N]
(CHECKPOINT: a pretrained name such as 7net-0, whose checkpoint ships inside the sevenn wheel, or a .pth file)
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

FAMILY = "SevenNet"
INPUTS = ("species", "edge_index", "edge_vec", "local_mask")
OUTPUTS = ("atomic_energy", "edge_grad")


def _gather_by_shape(node_features, edge_dst, message):
    """sevenn.nn.convolution.message_gather with the node count read as a tensor size: the original takes
    len(node_features), a Python int that tracing freezes to the example's atom count."""
    out = message.new_zeros((node_features.shape[0],) + tuple(message.shape[1:]))
    return out.index_add(0, edge_dst, message)


def energy_model(checkpoint: str, modal: str | None = None):
    """SevenNet's own model for one structure, without its force/stress head and total-energy sum."""
    import sevenn.nn.convolution
    from sevenn.util import load_checkpoint

    sevenn.nn.convolution.message_gather = _gather_by_shape
    cp = load_checkpoint(checkpoint)
    model = cp.build_model(enable_cueq=False)
    for key in ("force_output", "reduce_total_enegy"):  # sevenn's spelling
        model.delete_module_by_key(key)
    if modal:
        model.prepare_modal_deploy(modal)
    elif model.modal_map:
        raise SystemExit(f"sevennet_export: {checkpoint} is multi-fidelity; give --modal, one of {sorted(model.modal_map)}")
    model.eval_type_map = False  # species indices come from the plugin
    model.key_grad = None        # the wrapper below asks for the gradient it needs
    model.set_is_batch_data(False)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, cp.config


class EnergyAndEdgeGradient(torch.nn.Module):
    """(species, edge_index, edge_vec, local_mask) -> (atomic energies, d E_local / d edge_vec)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, species, edge_index, edge_vec, local_mask):
        import sevenn._keys as KEY

        edge_vec = edge_vec.detach().requires_grad_(True)
        out = self.model({KEY.NODE_FEATURE: species, KEY.EDGE_IDX: edge_index, KEY.EDGE_VEC: edge_vec})
        energy = out[KEY.ATOMIC_ENERGY].reshape(-1)
        (grad,) = torch.autograd.grad([(energy * local_mask).sum()], [edge_vec])
        return energy, grad


def example_graph(type_map: dict, repeat: int, seed: int, device):
    """A rattled fcc cell of the model's first two elements, as the plugin would hand it over."""
    from ase.build import bulk
    from ase.neighborlist import neighbor_list

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(repeat)
    rng = np.random.default_rng(seed)
    atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
    i, j, d = neighbor_list("ijD", atoms, 5.0)
    species = torch.tensor(rng.choice(sorted(type_map.values())[:2], len(atoms)), dtype=torch.int64)
    mask = torch.ones(len(atoms), dtype=torch.float32)
    mask[len(atoms) // 2:] = 0.0  # trace with both values present, as a rank with a ghost shell has
    return tuple(t.to(device) for t in (species, torch.tensor(np.stack([i, j])), torch.tensor(d, dtype=torch.float32), mask))


def export(checkpoint: str, out: str, device: str = "cpu", modal: str | None = None, threads: int = 1) -> None:
    import sevenn
    import sevenn._keys as KEY
    from ase.data import chemical_symbols
    from nequip.utils.fx import fx_duck_shape, nequip_decomp_table  # the decompositions nequip-compile traces with
    from torch.fx.experimental.proxy_tensor import make_fx

    torch.set_num_threads(threads)  # the CPU kernels are written for this many threads (see the top)
    model, config = energy_model(checkpoint, modal)
    wrapped = EnergyAndEdgeGradient(model.to(device))
    type_map = config[KEY.TYPE_MAP]  # atomic number -> species index
    example = example_graph(type_map, 2, 1, device)
    with fx_duck_shape(False):  # no size may stand for another: node and edge counts vary independently
        traced = make_fx(wrapped, tracing_mode="symbolic", decomposition_table=nequip_decomp_table(),
                         _allow_non_fake_inputs=True)(*example)
    nodes = torch.export.Dim("nodes", min=2, max=10**8)
    edges = torch.export.Dim("edges", min=2, max=10**10)
    exported = torch.export.export(traced, example, dynamic_shapes=({0: nodes}, {1: edges}, {0: edges}, {0: nodes}))
    names = " ".join(chemical_symbols[z] for z, _ in sorted(type_map.items(), key=lambda kv: kv[1]))
    layers = sum(name.endswith("_convolution") for name in model._modules)
    metadata = {"pylmp_family": FAMILY, "type_names": names, "r_max": str(config[KEY.CUTOFF]),
                "num_layers": str(layers), "model_dtype": "float32", "cpu_threads": str(threads), "sevenn_version": sevenn.__version__,
                "pylmp_inputs": " ".join(INPUTS), "pylmp_outputs": " ".join(OUTPUTS), "source": str(checkpoint)}
    # Inductor freezes weights (constant folding, oneDNN-packed linears for the radial networks) only with grad
    # mode off; the graph already holds the backward pass, so nothing is lost. Measured 1.5x on 108 atoms.
    with torch.no_grad():
        torch._inductor.aoti_compile_and_package(exported, package_path=out,
                                                 inductor_configs={"aot_inductor.metadata": metadata, "freezing": True})
    check(out, wrapped, type_map, device)


def check(package: str, eager, type_map: dict, device) -> None:
    """The package equals the eager model on a cell of another size than the traced one (float32 rounding)."""
    compiled = torch._inductor.aoti_load_package(package)
    graph = example_graph(type_map, 3, 2, device)
    # One thread, as the plugin runs by default: on 2 threads SevenNet's eager model can be off by 3e-4 on its first
    # call (measured 418.507 eV where every later call gives 418.498), which once failed a fresh set-up.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        e_ref, g_ref = eager(*graph)
        e, g = compiled(*graph)
    finally:
        torch.set_num_threads(threads)
    # float32 sums in another order: measured 2e-6 (energies) and 7e-6 (gradients) of the largest value
    de = (e - e_ref).abs().max().item() / e_ref.abs().max().item()
    dg = (g - g_ref).abs().max().item() / g_ref.abs().max().item()
    if de > 1e-5 or dg > 3e-5:
        raise SystemExit(f"sevennet_export: the compiled package differs from the model: atomic energies by {de:.1e}, "
                         f"edge gradients by {dg:.1e} of their largest value")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pylmp.sevennet_export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out", help="the package to write (*.pt2)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where the package will run")
    ap.add_argument("--modal", help="fidelity of a multi-fidelity checkpoint (e.g. SevenNet-MF-0's mpa)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads per MPI rank the CPU package is compiled for (pair_style pylmp/torch threads N)")
    args = ap.parse_args(argv)
    if not args.out.endswith(".pt2"):
        ap.error("OUT must end in .pt2")
    torch.set_default_dtype(torch.float32)
    if args.threads < 1:
        ap.error("--threads must be >= 1")
    export(args.checkpoint, args.out, args.device, args.modal, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
