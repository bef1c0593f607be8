"""Compile a NequIP (message-passing) model for pair_style pylmp/torch on any number of MPI ranks.

`nequip-compile --target pair_nequip` differentiates the energy of the whole graph it is given. On several MPI
ranks the plugin's graph of one rank holds its local atoms plus a ghost shell n_layers x r_max deep, and the
(truncated) energies of the ghost-shell atoms must not enter that rank's forces and virial. This target, named
`pylmp_nequip`, takes one more input, `pylmp_local_mask` ([nodes, 1], 1.0 for the rank's local atoms, 0.0 for
the ghost shell), and replaces the model's final sum of atomic energies by the masked sum. nequip's own
ForceStressOutput then returns forces = -dE_local/dpos on every node (LAMMPS sends the ghost rows back to their
owners) and the virial of E_local from its strain derivative; the ranks' sums are the periodic system's.
With a mask of ones (one rank) the package equals a pair_nequip one.

The package metadata gains `num_layers` (interaction blocks), so the plugin knows the ghost-shell depth.

Usage: python -m pylmp.nequip_compile CHECKPOINT_OR_PACKAGE OUT.nequip.pt2  (what pylmp.plugin.compile_nequip runs)
"""
from __future__ import annotations

import sys

import torch

TARGET = "pylmp_nequip"
LOCAL_MASK = "pylmp_local_mask"


class LocalEnergySum(torch.nn.Module):
    """total_energy = sum of the atomic energies of the nodes the mask flags (the local atoms)."""

    def forward(self, data):
        energy = data["atomic_energy"]
        data["total_energy"] = (energy * data[LOCAL_MASK].to(energy.dtype)).sum(dim=0, keepdim=True)
        return data


def localize(model: torch.nn.Module) -> int:
    """Swap the model's sum of atomic energies for LocalEnergySum in place; return its interaction blocks."""
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if (type(child).__name__ == "AtomwiseReduce" and child.field == "atomic_energy"
                    and child.out_field == "total_energy" and child.reduce == "sum" and child.constant == 1.0):
                setattr(parent, name, LocalEnergySum())
                swapped += 1
    for m in model.modules():  # GraphModel passes on only the fields it lists
        if hasattr(m, "model_input_fields") and LOCAL_MASK not in m.model_input_fields:
            m.model_input_fields.append(LOCAL_MASK)
    layers = sum(type(m).__name__ == "InteractionBlock" for m in model.modules())
    if swapped != 1 or layers < 1:
        raise SystemExit(f"nequip_compile: expected one plain sum of atomic energies and >= 1 interaction block in "
                         f"a NequIP model, found {swapped} and {layers}; compile strictly local (Allegro) models "
                         f"with --target pair_allegro")
    return layers


def compile_local(ckpt: str, out: str) -> None:
    from nequip.data._key_registry import register_fields
    from nequip.model.saved_models.load_utils import load_saved_model
    from nequip.model.utils import _EAGER_MODEL_KEY
    from nequip.scripts._compile_utils import (
        LMP_OUTPUTS,
        PAIR_NEQUIP_INPUTS,
        single_frame_data_settings,
    )
    from nequip.scripts._workflow_utils import set_workflow_state
    from nequip.train.lightning import _SOLE_MODEL_KEY
    from nequip.utils.aot import aot_export_model
    from nequip.utils.aoti_metadata import (
        NEQUIP_AOTI_INPUTS_KEY,
        NEQUIP_AOTI_OUTPUTS_KEY,
        serialize_aoti_keys,
    )
    from nequip.utils.global_state import get_latest_global_state, set_global_state

    set_workflow_state("compile")
    set_global_state(allow_tf32=False)
    register_fields(node_fields=[LOCAL_MASK])  # [nodes, 1]: dynamic in the node dimension like pos
    model, data = load_saved_model(ckpt, _EAGER_MODEL_KEY, _SOLE_MODEL_KEY, return_data_dict=True)
    layers = localize(model)

    data = single_frame_data_settings(data)
    n = data["pos"].shape[0]
    mask = torch.ones((n, 1), dtype=torch.float64)
    mask[n // 2:] = 0.0  # trace with both values present
    data[LOCAL_MASK] = mask
    inputs = PAIR_NEQUIP_INPUTS + [LOCAL_MASK]

    metadata = {**model.metadata, **get_latest_global_state(only_metadata_related=True)}
    metadata = {k: str(int(v)) if isinstance(v, bool) else str(v) for k, v in metadata.items()}
    metadata.update({"num_layers": str(layers), "pylmp_target": TARGET,
                     NEQUIP_AOTI_INPUTS_KEY: serialize_aoti_keys(inputs),
                     NEQUIP_AOTI_OUTPUTS_KEY: serialize_aoti_keys(LMP_OUTPUTS)})
    dims = {"graph": torch.export.Dim.STATIC,  # one frame, as nequip's pair_nequip target
            "node": torch.export.Dim("num_nodes", min=2, max=torch.inf),
            "edge": torch.export.Dim("num_edges", min=2, max=torch.inf)}
    aot_export_model(model=model, device="cpu", input_fields=inputs, output_fields=LMP_OUTPUTS, data=data,
                     batch_map=dims, output_path=out, inductor_configs={"aot_inductor.metadata": metadata}, seed=1)


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[2].endswith(".nequip.pt2"):
        raise SystemExit("usage: python -m pylmp.nequip_compile CHECKPOINT_OR_PACKAGE OUT.nequip.pt2")
    compile_local(sys.argv[1], sys.argv[2])
