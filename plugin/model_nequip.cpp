// NequIP and Allegro AOTInductor packages (`nequip-compile CKPT OUT.nequip.pt2 --mode aotinductor
// --target pair_nequip|pair_allegro`, or pylmp's own NequIP target `python -m pylmp.nequip_compile CKPT OUT`).
// The package metadata holds r_max, type_names, model_dtype (inputs stay float64 either way: nequip casts inside)
// and the order of the positional inputs/outputs (nequip_aoti_inputs / nequip_aoti_outputs). The compiled model
// returns forces and virial itself (autograd is inside it):
// - pair_allegro: strictly local (an atom's energy depends only on its own edges). Nodes are all LAMMPS
//   atoms, edges leave local atoms only, so ghost nodes carry no position-dependent energy and the forces on
//   them are exactly what their owners need (reverse communication). Exact on any number of ranks.
// - pylmp_nequip: message passing; the extra input pylmp_local_mask (1 for local nodes, 0 for the ghost shell)
//   makes the package differentiate the energy of the local atoms only, so the ghost-shell graph
//   (n_layers x r_max, n_layers from the metadata key num_layers) is exact on any number of ranks.
// - pair_nequip: message passing with forces of the whole graph's energy, ghost-shell atoms included: exact
//   on one MPI rank only, where the graph is the periodic system itself.
// NequIP graphs are PerAtomId: edge_cell_shift carries the image offsets in Angstrom, with cell = identity.
#include "model.h"


namespace pylmp_torch {
namespace {

class NequipAotiRunner : public ModelRunner {
 public:
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader;
  std::vector<std::string> inputs, outputs;

  void compute(const Graph &g, bool want_atom_energy, Result &out) override
  {
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    torch::Tensor pos = g.pos_view(), edges = g.edge_index_view();
    std::vector<torch::Tensor> args;
    for (const auto &name : inputs) {
      if (name == "pos") {
        args.push_back(pos.to(device));  // float64 whatever model_dtype is: nequip casts inside
      } else if (name == "edge_index") {
        args.push_back(edges.to(device));
      } else if (name == "atom_types") {
        args.push_back(g.species_view().to(device));
      } else if (name == "cell") {
        args.push_back(torch::eye(3, f64).reshape({1, 3, 3}).to(device));
      } else if (name == "edge_cell_shift") {
        // with cell = identity the shift is the image offset in Angstrom: vec - (pos_j - pos_i)
        torch::Tensor shift = g.vec_view() - (pos.index_select(0, edges[1]) - pos.index_select(0, edges[0]));
        args.push_back(shift.to(device));
      } else if (name == "pylmp_local_mask") {
        torch::Tensor mask = torch::zeros({g.num_nodes(), 1}, f64);
        mask.narrow(0, 0, g.nlocal).fill_(1.0);
        args.push_back(mask.to(device));
      } else {
        throw ModelError(family + " package needs input '" + name + "', which pair_style pylmp/torch "
                         "does not provide; compile with `python -m pylmp.plugin` (pylmp_nequip, pair_allegro)");
      }
    }
    std::vector<torch::Tensor> res = loader->run(args);
    for (size_t k = 0; k < outputs.size() && k < res.size(); k++) {
      torch::Tensor t = res[k].to(torch::kCPU, torch::kFloat64).contiguous();
      if (outputs[k] == "atomic_energy") {
        torch::Tensor e_local = t.reshape({-1}).narrow(0, 0, g.nlocal);
        out.energy = e_local.sum().item<double>();
        if (want_atom_energy) out.atom_energy = e_local;
      } else if (outputs[k] == "forces") {
        out.node_forces = t.reshape({g.num_nodes(), 3});
      } else if (outputs[k] == "virial") {
        const double *w = t.data_ptr<double>();    // [1, 3, 3]
        out.has_virial = true;
        out.virial[0] = w[0]; out.virial[1] = w[4]; out.virial[2] = w[8];
        out.virial[3] = w[1]; out.virial[4] = w[2]; out.virial[5] = w[5];
      }
    }
  }
};

}    // namespace

std::unique_ptr<ModelRunner> open_nequip_aoti(std::unique_ptr<AotiLoader> loader, AotiMetadata &meta,
                                              const std::string &path, torch::Device device)
{
  auto runner = std::make_unique<NequipAotiRunner>();
  runner->loader = std::move(loader);
  if (!meta.count("nequip_aoti_inputs") || !meta.count("type_names") || !meta.count("r_max"))
    throw ModelError("'" + path + "' is an AOTInductor package without nequip metadata (nequip_aoti_inputs, "
                     "type_names, r_max); " + HOW_TO_MAKE);
  runner->inputs = split_words(meta["nequip_aoti_inputs"]);
  runner->outputs = split_words(meta["nequip_aoti_outputs"]);
  for (const char *need : {"atomic_energy", "forces", "virial"})
    if (std::find(runner->outputs.begin(), runner->outputs.end(), need) == runner->outputs.end())
      throw ModelError("'" + path + "' was compiled for another target (outputs: " + meta["nequip_aoti_outputs"] +
                       "); compile it for LAMMPS with --target pair_allegro (Allegro) or pair_nequip (NequIP)");
  runner->elements = split_words(meta["type_names"]);
  runner->r_max = std::stod(meta["r_max"]);
  runner->device = device;
  const bool has_cell = std::find(runner->inputs.begin(), runner->inputs.end(), "cell") != runner->inputs.end();
  if (has_cell) {
    runner->family = "NequIP";
    runner->graph_kind = GraphKind::PerAtomId;
    runner->multi_rank = std::find(runner->inputs.begin(), runner->inputs.end(), "pylmp_local_mask") !=
                         runner->inputs.end();
    runner->multi_rank_why = "a pair_nequip package returns forces of the whole graph's energy, ghost-shell "
                             "atoms included, so it is exact on one MPI rank only; recompile the model with "
                             "`python -m pylmp.nequip_compile CKPT OUT.nequip.pt2` (local-atom energies, any "
                             "number of ranks) or run it on 1 rank (mpirun -np 1, threads N)";
    if (meta.count("num_layers")) runner->n_layers = std::stoi(meta["num_layers"]);
  } else {
    runner->family = "Allegro";
    runner->graph_kind = GraphKind::PerLammpsAtom;
  }
  return runner;
}

}    // namespace pylmp_torch
