// SevenNet, two file kinds:
// - AOTInductor package (`python -m pylmp.sevennet_export CKPT FILE.pt2`, the fast route): one positional
//   function (species, edge_index, edge_vec, local_mask) -> (atomic_energy, edge_grad), the gradient of the
//   local atoms' energy taken inside the compiled code (see pylmp/sevennet_export.py).
// - deployed TorchScript (`sevenn get_model 7net-0 -o FILE`, the fallback): forward(Dict[str, Tensor]) reads
//   "x" int64 [nodes] species index (order of the extra file chemical_symbols_to_index),
//   "edge_index" int64 [2, E] (row 0 centre, row 1 neighbour), "edge_vec" [E, 3] = x_j - x_i,
// and returns "atomic_energy" [nodes, 1]. Forces and virial come from autograd on edge_vec, with the energy
// summed over local nodes only, so the ghost-shell graph is exact on any number of MPI ranks.
#include "model.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <sstream>

namespace pylmp_torch {
namespace {

// Message-passing layers of a deployed SevenNet model: each interaction block reads the radial edge
// embedding once, so count the `input["edge_embedding"]` look-ups in the frozen forward graph.
int count_layers(torch::jit::Module &module)
{
  int count = 0;
  const auto getitem = c10::Symbol::fromQualString("aten::__getitem__");
  std::vector<torch::jit::Block *> todo{module.get_method("forward").graph()->block()};
  while (!todo.empty()) {
    torch::jit::Block *block = todo.back();
    todo.pop_back();
    for (torch::jit::Node *node : block->nodes()) {
      if (node->kind() == getitem && node->inputs().size() == 2) {
        auto key = torch::jit::toIValue(node->input(1));
        if (key && key->isString() && key->toStringRef() == "edge_embedding") ++count;
      }
      for (torch::jit::Block *sub : node->blocks()) todo.push_back(sub);
    }
  }
  return count;
}

class SevenNetRunner : public ModelRunner {
 public:
  torch::jit::Module module;
  torch::Dtype dtype = torch::kFloat32;

  void compute(const Graph &g, bool want_atom_energy, Result &out) override
  {
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
    torch::Tensor t_vec = g.vec_view().to(device, dtype).detach();
    t_vec.requires_grad_(true);
    torch::Tensor t_nlocal = torch::full({1}, g.nlocal, i64);

    c10::Dict<std::string, torch::Tensor> input;
    input.insert("x", g.species_view().to(device));
    input.insert("edge_index", g.edge_index_view().to(device));
    input.insert("edge_vec", t_vec);
    input.insert("num_atoms", t_nlocal.to(device));
    input.insert("nlocal", t_nlocal);

    auto output = module.forward({input}).toGenericDict();
    torch::Tensor e_local = output.at("atomic_energy").toTensor().reshape({-1}).narrow(0, 0, g.nlocal);
    torch::Tensor energy = e_local.sum();
    auto grads = torch::autograd::grad({energy}, {t_vec}, {}, false, false, true);
    out.edge_grad = grads[0].defined() ? grads[0].to(torch::kCPU, torch::kFloat64).contiguous()
                                       : torch::zeros({g.num_edges(), 3}, torch::kFloat64);
    out.energy = energy.item<double>();
    if (want_atom_energy) out.atom_energy = e_local.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  }
};

// n rounded up to a multiple of a power of two (at least `least`) near n/64: at most ~1.6 % more work.
int64_t padded_size(int64_t n, int64_t least)
{
  int64_t step = least;
  while (step * 128 <= n) step *= 2;
  return std::max(least, (n + step - 1) / step * step);
}

// The padded size for n: the one in use while n fits and fills at least 90 % of it, else a new one.
int64_t keep_or_resize(int64_t &in_use, int64_t n, int64_t least)
{
  if (n > in_use || 10 * n < 9 * in_use) in_use = padded_size(n, least);
  return in_use;
}

class SevenNetAotiRunner : public ModelRunner {
 public:
  std::unique_ptr<AotiLoader> loader;
  int64_t node_size = 0, edge_size = 0;    // padded sizes in use (one runner serves one LAMMPS call at a time)

  // The graph goes in padded to a size that stays put through an MD run. With a new node and edge count at every
  // step, glibc never reuses the freed buffers (tens of MB each) exactly: the heap grew ~13 MB per step at 108
  // atoms and every step paid for fresh pages. Padding: one extra node (species 0, masked out) that every extra
  // edge joins to itself, with a vector inside the cutoff so all terms stay finite. No edge reaches a real node
  // from it, so real energies and gradients are unchanged; its outputs are dropped.
  void compute(const Graph &g, bool want_atom_energy, Result &out) override
  {
    const int64_t nodes = g.num_nodes(), edges = g.num_edges();
    const int64_t padded_nodes = keep_or_resize(node_size, nodes + 1, 16);
    const int64_t padded_edges = keep_or_resize(edge_size, edges, 64);
    torch::Tensor species = torch::zeros({padded_nodes}, torch::kInt64);
    species.narrow(0, 0, nodes).copy_(g.species_view());
    torch::Tensor mask = torch::zeros({padded_nodes}, torch::kFloat32);
    mask.narrow(0, 0, g.nlocal).fill_(1.0);
    torch::Tensor edge_index = torch::full({2, padded_edges}, nodes, torch::kInt64);
    edge_index.narrow(1, 0, edges).copy_(g.edge_index_view());
    torch::Tensor vec = torch::zeros({padded_edges, 3}, torch::kFloat32);
    vec.narrow(0, 0, edges).copy_(g.vec_view());
    vec.narrow(0, edges, padded_edges - edges).select(1, 0).fill_(0.5 * r_max);

    std::vector<torch::Tensor> res =
        loader->run({species.to(device), edge_index.to(device), vec.to(device), mask.to(device)});
    torch::Tensor e_local = res.at(0).reshape({-1}).narrow(0, 0, g.nlocal).to(torch::kCPU, torch::kFloat64);
    out.energy = e_local.sum().item<double>();
    out.edge_grad = res.at(1).narrow(0, 0, edges).to(torch::kCPU, torch::kFloat64).contiguous();
    if (want_atom_energy) out.atom_energy = e_local.contiguous();
  }
};

}    // namespace

std::unique_ptr<ModelRunner> open_sevennet_aoti(std::unique_ptr<AotiLoader> loader, AotiMetadata &meta,
                                                const std::string &path, torch::Device device)
{
  if (meta["pylmp_inputs"] != "species edge_index edge_vec local_mask" ||
      meta["pylmp_outputs"] != "atomic_energy edge_grad")
    throw ModelError("'" + path + "' is a SevenNet package of another interface (inputs '" + meta["pylmp_inputs"] +
                     "', outputs '" + meta["pylmp_outputs"] + "'); re-export it with this pylmp: "
                     "`python -m pylmp.sevennet_export CKPT FILE.pt2`");
  auto runner = std::make_unique<SevenNetAotiRunner>();
  runner->loader = std::move(loader);
  runner->family = "SevenNet";
  runner->device = device;
  runner->elements = split_words(meta["type_names"]);
  try {
    runner->r_max = std::stod(meta["r_max"]);
    runner->n_layers = std::stoi(meta["num_layers"]);
  } catch (const std::exception &) {
    throw ModelError("'" + path + "' has unreadable r_max/num_layers metadata; re-export it with "
                     "`python -m pylmp.sevennet_export`");
  }
  runner->graph_kind = GraphKind::PerAtomId;
  return runner;
}

std::unique_ptr<ModelRunner> open_sevennet(torch::jit::Module &module, ExtraFiles &extra, const std::string &path,
                                           torch::Device device)
{
  if (extra["chemical_symbols_to_index"].empty() || extra["cutoff"].empty()) return nullptr;
  auto runner = std::make_unique<SevenNetRunner>();
  runner->family = "SevenNet";
  runner->module = module;
  runner->device = device;
  std::istringstream symbols(extra["chemical_symbols_to_index"]);
  for (std::string s; symbols >> s;) runner->elements.push_back(s);
  try {
    runner->r_max = std::stod(extra["cutoff"]);
  } catch (const std::exception &) {
    throw ModelError("'" + path + "' has an unreadable cutoff '" + extra["cutoff"] + "'; redeploy it with "
                     "`sevenn get_model`");
  }
  std::string dt = extra["dtype"];
  dt.erase(dt.find_last_not_of(" \n\r\t") + 1);
  if (dt == "single" || dt == "float32" || dt.empty()) {
    runner->dtype = torch::kFloat32;
  } else if (dt == "double" || dt == "float64") {
    runner->dtype = torch::kFloat64;
  } else {
    throw ModelError("'" + path + "' has unknown dtype '" + dt + "'");
  }
  runner->graph_kind = GraphKind::PerAtomId;
  runner->n_layers = count_layers(runner->module);
  return runner;
}

}    // namespace pylmp_torch
