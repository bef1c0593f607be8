// MACE TorchScript for LAMMPS (`mace_create_lammps_model MODEL --format libtorch` -> MODEL-lammps.pt):
// forward(data: Dict[str, Tensor], local_or_ghost: Tensor, compute_virials: bool) returns "total_energy_local"
// (energy of the nodes flagged local), "node_energy", "forces" (-d total_energy_local / d positions, all nodes)
// and "virials". Buffers: atomic_numbers (species order), r_max, num_interactions.
// Because the forces are those of the local energy only, the ghost-shell graph (n_layers x r_max) is exact on
// any number of MPI ranks. MACE sends messages from edge_index[0] (sender) to edge_index[1] (receiver), with
// vector = pos[receiver] - pos[sender] + shifts, so the centre goes in row 1. Shifts are rebuilt inside the model
// as unit_shifts @ cell (for the virial): with cell = identity, unit_shifts is the image offset in Angstrom.
#include "model.h"

namespace pylmp_torch {
namespace {

class MaceRunner : public ModelRunner {
 public:
  torch::jit::Module module;
  torch::Dtype dtype = torch::kFloat64;

  void compute(const Graph &g, bool want_atom_energy, Result &out) override
  {
    const int64_t nnodes = g.num_nodes();
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    torch::Tensor pos = g.pos_view(), edges = g.edge_index_view(), vec = g.vec_view();
    torch::Tensor centre = edges[0], neighbour = edges[1];
    // receiver = centre: vector x_centre - x_neighbour = -vec
    torch::Tensor shift = -vec - (pos.index_select(0, centre) - pos.index_select(0, neighbour));
    torch::Tensor node_attrs = torch::one_hot(g.species_view(), (int64_t) elements.size()).to(dtype);
    torch::Tensor local_or_ghost = torch::zeros({nnodes}, f64);
    local_or_ghost.narrow(0, 0, g.nlocal).fill_(1.0);

    c10::Dict<std::string, torch::Tensor> data;
    data.insert("positions", pos.to(device, dtype));
    data.insert("edge_index", torch::stack({neighbour, centre}).to(device));
    data.insert("shifts", shift.to(device, dtype));
    data.insert("unit_shifts", shift.to(device, dtype));
    data.insert("cell", torch::eye(3, f64).to(device, dtype));
    data.insert("node_attrs", node_attrs.to(device));
    data.insert("batch", torch::zeros({nnodes}, i64).to(device));
    data.insert("ptr", torch::tensor({(int64_t) 0, nnodes}, i64).to(device));
    data.insert("weight", torch::ones({1}, f64).to(device, dtype));
    data.insert("energy", torch::zeros({1}, f64).to(device, dtype));
    data.insert("forces", torch::zeros({nnodes, 3}, f64).to(device, dtype));

    auto output = module.forward({data, local_or_ghost.to(device, dtype), true}).toGenericDict();
    out.energy = output.at("total_energy_local").toTensor().sum().item<double>();
    out.node_forces = output.at("forces").toTensor().to(torch::kCPU, torch::kFloat64).reshape({nnodes, 3}).contiguous();
    torch::Tensor w = output.at("virials").toTensor().to(torch::kCPU, torch::kFloat64).reshape({9}).contiguous();
    const double *v = w.data_ptr<double>();
    out.has_virial = true;
    out.virial[0] = v[0]; out.virial[1] = v[4]; out.virial[2] = v[8];
    out.virial[3] = v[1]; out.virial[4] = v[2]; out.virial[5] = v[5];
    if (want_atom_energy)
      out.atom_energy = output.at("node_energy").toTensor().to(torch::kCPU, torch::kFloat64).reshape({-1})
                            .narrow(0, 0, g.nlocal).contiguous();
  }
};

}    // namespace

std::unique_ptr<ModelRunner> open_mace(torch::jit::Module &module, const std::string &path, torch::Device device)
{
  if (!module.hasattr("atomic_numbers") || !module.hasattr("r_max") || !module.hasattr("num_interactions"))
    return nullptr;
  auto runner = std::make_unique<MaceRunner>();
  runner->family = "MACE";
  runner->module = module;
  runner->device = device;
  torch::Tensor z = module.attr("atomic_numbers").toTensor().to(torch::kCPU, torch::kInt64).reshape({-1});
  for (int64_t k = 0; k < z.size(0); k++) {
    runner->elements.push_back(element_symbol(z[k].item<int64_t>(), path));
  }
  runner->r_max = module.attr("r_max").toTensor().item<double>();
  runner->n_layers = (int) module.attr("num_interactions").toTensor().item<int64_t>();
  for (const auto &p : module.parameters()) {
    runner->dtype = p.scalar_type();
    break;
  }
  runner->graph_kind = GraphKind::PerAtomId;
  return runner;
}

}    // namespace pylmp_torch
