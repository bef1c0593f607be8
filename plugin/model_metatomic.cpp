// metatomic models (TorchScript AtomisticModel, e.g. PET-MAD exported by `mtt export`): forward(systems, options,
// check_consistency) -> {"energy": TensorMap}. The model declares what it needs: capabilities() (atomic types,
// interaction range, dtype, units) and requested_neighbor_lists() (cutoff, full or half list). The pair style's
// per-atom-ID graph becomes one System: positions of the nodes, the LAMMPS box as the cell, and each requested
// neighbour list built from the graph's edges, with the integer cell shifts that take the neighbour's node position to
// its actual image. Forces are -dE/d(node positions), the virial comes from the gradients with respect to the
// positions and the cell. On several MPI ranks only the local atoms are selected for the energy (selected_atoms); the ghost shell
// is one cutoff deeper than interaction_range (see open_metatomic).
#include "model.h"

#include <metatomic/torch.hpp>

#include <cmath>

namespace pylmp_torch {
namespace {

using metatensor_torch::Labels;
using metatensor_torch::LabelsHolder;
using metatensor_torch::TensorBlockHolder;
using metatensor_torch::TensorMapHolder;
using metatomic_torch::NeighborListOptions;
using metatomic_torch::SystemHolder;

Labels labels(const std::vector<std::string> &names, torch::Tensor values, torch::Device device)
{
  return torch::make_intrusive<LabelsHolder>(names, values.to(device, torch::kInt32).contiguous());
}

class MetatomicRunner : public ModelRunner {
 public:
  torch::jit::Module module;
  torch::Dtype dtype = torch::kFloat64;
  std::vector<int64_t> atomic_types;            // species index -> the model's type (atomic number)
  std::vector<NeighborListOptions> requests;    // the neighbour lists the model asked for

  void compute(const Graph &g, bool want_atom_energy, Result &out) override
  {
    const int64_t nnodes = g.num_nodes();
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    torch::Tensor pos = g.pos_view(), edges = g.edge_index_view();
    torch::Tensor centre = edges[0], neighbour = edges[1];
    torch::Tensor cell = torch::from_blob(const_cast<double *>(g.cell), {3, 3}, f64).clone();
    // neighbour image = neighbour node + shift . cell  =>  shift = (vec - (x_j - x_i)) . cell^-1, an integer
    torch::Tensor vec64 = g.vec_view();
    torch::Tensor offset = vec64 - (pos.index_select(0, neighbour) - pos.index_select(0, centre));
    torch::Tensor shifts = torch::round(torch::matmul(offset, torch::inverse(cell))).to(torch::kInt64);

    torch::Tensor types = torch::tensor(atomic_types, torch::TensorOptions().dtype(torch::kInt64))
                              .index_select(0, g.species_view()).to(torch::kInt32);
    torch::Tensor pbc = torch::tensor({g.pbc[0], g.pbc[1], g.pbc[2]}, torch::TensorOptions().dtype(torch::kBool));
    // models may use the pair vectors or rebuild them from positions, cell and shifts (PET does): both are leaves,
    // and the pair vectors are computed from them, so either way dE/dx and dE/dh come out
    torch::Tensor x = pos.to(device, dtype).detach().requires_grad_(true);
    torch::Tensor h = cell.to(device, dtype).detach().requires_grad_(true);
    auto system = torch::make_intrusive<SystemHolder>(types.to(device), x, h, pbc.to(device));
    torch::Tensor shifts_d = shifts.to(device, dtype);
    torch::Tensor vec = x.index_select(0, neighbour.to(device)) - x.index_select(0, centre.to(device)) +
                        torch::matmul(shifts_d, h);
    torch::Tensor length = vec64.norm(2, 1);
    for (const auto &options : requests) {
      torch::Tensor keep = length < options->engine_cutoff("angstrom");
      if (!options->full_list()) {    // one of i->j and j->i: i < j, or i == j with the first non-zero shift > 0
        torch::Tensor first = torch::where(shifts.select(1, 0) != 0, shifts.select(1, 0),
                                           torch::where(shifts.select(1, 1) != 0, shifts.select(1, 1), shifts.select(1, 2)));
        keep = keep & ((centre < neighbour) | ((centre == neighbour) & (first > 0)));
      }
      torch::Tensor idx = keep.nonzero().reshape({-1});
      torch::Tensor samples = torch::cat({centre.index_select(0, idx).unsqueeze(1),
                                          neighbour.index_select(0, idx).unsqueeze(1), shifts.index_select(0, idx)}, 1);
      auto block = torch::make_intrusive<TensorBlockHolder>(
          vec.index_select(0, idx.to(device)).reshape({-1, 3, 1}),
          labels({"first_atom", "second_atom", "cell_shift_a", "cell_shift_b", "cell_shift_c"}, samples, device),
          std::vector<Labels>{labels({"xyz"}, torch::arange(3).reshape({3, 1}), device)},
          labels({"distance"}, torch::zeros({1, 1}), device));
      system->add_neighbor_list(options, block);
    }

    torch::Dict<std::string, metatomic_torch::ModelOutput> outputs;
    outputs.insert("energy", torch::make_intrusive<metatomic_torch::ModelOutputHolder>(
                                 "energy", "eV", want_atom_energy, std::vector<std::string>{}, ""));
    torch::optional<Labels> selected = torch::nullopt;
    if (g.nlocal < nnodes) {    // several ranks: the energy of the local atoms only
      torch::Tensor atoms = torch::stack({torch::zeros({g.nlocal}, torch::kInt64), torch::arange(g.nlocal)}, 1);
      selected = labels({"system", "atom"}, atoms, device);
    }
    auto options = torch::make_intrusive<metatomic_torch::ModelEvaluationOptionsHolder>("angstrom", outputs, selected);
    c10::List<metatomic_torch::System> systems;
    systems.push_back(system);
    auto result = module.forward({systems, options, false}).toGenericDict();
    auto energy_map = result.at("energy").toCustomClass<TensorMapHolder>();
    torch::Tensor energies = TensorMapHolder::block_by_id(energy_map, 0)->values().reshape({-1});
    torch::Tensor total = energies.sum();
    auto grads = torch::autograd::grad({total}, {x, h}, {}, false, false, true);
    out.energy = total.item<double>();
    torch::Tensor gx = grads[0].defined() ? grads[0].to(torch::kCPU, torch::kFloat64) : torch::zeros({nnodes, 3}, f64);
    torch::Tensor gh = grads[1].defined() ? grads[1].to(torch::kCPU, torch::kFloat64) : torch::zeros({3, 3}, f64);
    out.node_forces = (-gx).contiguous();
    // a homogeneous strain moves every node and the cell: W = -dE/d(strain) = -(x^T dE/dx + h^T dE/dh)
    // (symmetrised: a model that learns rotational invariance, as PET does, gives a slightly asymmetric tensor)
    torch::Tensor w = -(torch::matmul(pos.transpose(0, 1), gx) + torch::matmul(cell.transpose(0, 1), gh));
    w = 0.5 * (w + w.transpose(0, 1));
    out.has_virial = true;
    out.virial[0] = w[0][0].item<double>(); out.virial[1] = w[1][1].item<double>(); out.virial[2] = w[2][2].item<double>();
    out.virial[3] = w[0][1].item<double>(); out.virial[4] = w[0][2].item<double>(); out.virial[5] = w[1][2].item<double>();
    if (want_atom_energy)
      out.atom_energy = energies.detach().to(torch::kCPU, torch::kFloat64).narrow(0, 0, g.nlocal).contiguous();
  }
};

}    // namespace

std::unique_ptr<ModelRunner> open_metatomic(torch::jit::Module &module, const std::string &path, torch::Device device)
{
  if (!module.find_method("capabilities") || !module.find_method("requested_neighbor_lists")) return nullptr;
  auto runner = std::make_unique<MetatomicRunner>();
  runner->family = "metatomic";
  runner->module = module;
  runner->device = device;
  auto caps = module.run_method("capabilities").toCustomClass<metatomic_torch::ModelCapabilitiesHolder>();
  if (!caps->outputs().contains("energy"))
    throw ModelError("metatomic model '" + path + "' has no 'energy' output, so it is not an interatomic potential");
  runner->dtype = caps->dtype() == "float32" ? torch::kFloat32 : torch::kFloat64;
  for (int64_t z : caps->atomic_types) {
    runner->atomic_types.push_back(z);
    runner->elements.push_back(element_symbol(z, path));
  }
  for (const auto &request : module.run_method("requested_neighbor_lists").toList()) {
    auto options = request.get().toCustomClass<metatomic_torch::NeighborListOptionsHolder>();
    runner->requests.push_back(options);
    runner->r_max = std::max(runner->r_max, options->engine_cutoff("angstrom"));
  }
  if (runner->requests.empty())
    throw ModelError("metatomic model '" + path + "' asks for no neighbour list; pair_style pylmp/torch needs one");
  const double range = caps->engine_interaction_range("angstrom");
  runner->graph_kind = GraphKind::PerAtomId;
  if (std::isfinite(range) && range > 0) {
    // one hop more than interaction_range / cutoff: the outermost nodes need their own edges too, since models
    // such as PET pair every edge with its reverse (without them 2 ranks differ from 1 by ~1e-6 eV/atom)
    runner->n_layers = (int) std::ceil(range / runner->r_max - 1e-6) + 1;
  } else {
    runner->multi_rank = false;
    runner->multi_rank_why = "its interaction range is infinite (long-range terms); run it on one rank";
  }
  return runner;
}

}    // namespace pylmp_torch
