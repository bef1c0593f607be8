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

class SevenNetAotiRunner : public ModelRunner {
 public:
  std::unique_ptr<AotiLoader> loader;

  void compute(const Graph &g, bool want_atom_energy, Result &out) override
  {
    torch::Tensor mask = torch::zeros({g.num_nodes()}, torch::kFloat32);
    mask.narrow(0, 0, g.nlocal).fill_(1.0);
    std::vector<torch::Tensor> res = loader->run({g.species_view().to(device), g.edge_index_view().to(device),
                                                  g.vec_view().to(device, torch::kFloat32), mask.to(device)});
    torch::Tensor e_local = res.at(0).reshape({-1}).narrow(0, 0, g.nlocal).to(torch::kCPU, torch::kFloat64);
    out.energy = e_local.sum().item<double>();
    out.edge_grad = res.at(1).to(torch::kCPU, torch::kFloat64).contiguous();
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
