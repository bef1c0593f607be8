// pair_style pylmp/torch: see pair_pylmp_torch.h for the model interface and the graph it builds.
// Usage:
//   pair_style  pylmp/torch [threads N] [device cpu|cuda] [layers N]
//   pair_coeff  * * MODEL_FILE Elem1 Elem2 ...     (one element per LAMMPS type)

#include "pair_pylmp_torch.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/cuda.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

using namespace LAMMPS_NS;

namespace {

const char *HOW_TO_MAKE = "make one with `sevenn get_model 7net-0 -o FILE` (SevenNet-0), or "
                          "`sevenn get_model CHECKPOINT -o FILE` for another SevenNet model";

// Number of message-passing layers of a deployed SevenNet model: each interaction block reads the radial
// edge embedding once, so count the `input["edge_embedding"]` look-ups in the frozen forward graph.
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

std::string first_line(const std::string &text)
{
  std::string line = text.substr(0, text.find('\n'));
  return line.size() > 200 ? line.substr(0, 200) + "..." : line;
}

}    // namespace

PairPylmpTorch::PairPylmpTorch(LAMMPS *lmp) : Pair(lmp)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the virial is summed over edges in compute()
  centroidstressflag = CENTROID_NOTAVAIL;
}

PairPylmpTorch::~PairPylmpTorch()
{
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairPylmpTorch::allocate()
{
  allocated = 1;
  int n = atom->ntypes + 1;
  memory->create(setflag, n, n, "pair:setflag");
  memory->create(cutsq, n, n, "pair:cutsq");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) setflag[i][j] = 0;
}

void PairPylmpTorch::settings(int narg, char **arg)
{
  int iarg = 0;
  while (iarg < narg) {
    std::string key = arg[iarg];
    if (iarg + 1 >= narg)
      error->all(FLERR, "pair_style pylmp/torch: keyword '" + key + "' needs a value");
    if (key == "threads") {
      num_threads = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
      if (num_threads < 1) error->all(FLERR, "pair_style pylmp/torch: threads must be >= 1");
    } else if (key == "layers") {
      user_layers = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
      if (user_layers < 1) error->all(FLERR, "pair_style pylmp/torch: layers must be >= 1");
    } else if (key == "device") {
      std::string value = arg[iarg + 1];
      if (value == "cpu") {
        use_cuda = false;
      } else if (value == "cuda") {
        if (!torch::cuda::is_available())
          error->all(FLERR, "pair_style pylmp/torch: 'device cuda' asked for, but this libtorch has no "
                            "usable CUDA device; use 'device cpu' or install a CUDA build of torch");
        use_cuda = true;
      } else {
        error->all(FLERR, "pair_style pylmp/torch: device must be 'cpu' or 'cuda', not '" + value + "'");
      }
    } else {
      error->all(FLERR, "pair_style pylmp/torch: unknown keyword '" + key +
                            "'; allowed: threads N, device cpu|cuda, layers N");
    }
    iarg += 2;
  }
  // one intra-op thread per MPI rank unless asked otherwise: ranks already fill the cores
  at::set_num_threads(num_threads);
  if (use_cuda) {
    // one GPU per rank on a node, round-robin over the visible devices
    int ndev = (int) torch::cuda::device_count();
    device = torch::Device(torch::kCUDA, ndev > 0 ? comm->me % ndev : 0);
  } else {
    device = torch::Device(torch::kCPU);
  }
}

void PairPylmpTorch::load_model(const std::string &path)
{
  if (!std::ifstream(path).good())
    error->all(FLERR, "pair_coeff pylmp/torch: model file '" + path + "' not found; " + HOW_TO_MAKE);

  std::unordered_map<std::string, std::string> extra{
      {"chemical_symbols_to_index", ""}, {"cutoff", ""}, {"num_species", ""},
      {"model_type", ""},                {"dtype", ""}};
  try {
    model = torch::jit::load(path, device, extra);
  } catch (const std::exception &e) {
    error->all(FLERR, "pair_coeff pylmp/torch: '" + path + "' is not a readable TorchScript model (" +
                          first_line(e.what()) + "); " + HOW_TO_MAKE);
  }
  if (extra["chemical_symbols_to_index"].empty() || extra["cutoff"].empty())
    error->all(FLERR, "pair_coeff pylmp/torch: '" + path + "' is TorchScript but not a deployed SevenNet model "
                      "(no chemical_symbols_to_index/cutoff metadata); " + HOW_TO_MAKE);
  model.eval();

  model_elements.clear();
  std::istringstream symbols(extra["chemical_symbols_to_index"]);
  for (std::string s; symbols >> s;) model_elements.push_back(s);
  try {
    r_max = std::stod(extra["cutoff"]);
  } catch (const std::exception &) {
    error->all(FLERR, "pair_coeff pylmp/torch: '" + path + "' has an unreadable cutoff '" + extra["cutoff"] +
                          "'; redeploy it: " + HOW_TO_MAKE);
  }
  const std::string dt = utils::trim(extra["dtype"]);
  if (dt == "single" || dt == "float32" || dt.empty()) {
    dtype = torch::kFloat32;
  } else if (dt == "double" || dt == "float64") {
    dtype = torch::kFloat64;
  } else {
    error->all(FLERR, "pair_coeff pylmp/torch: '" + path + "' has unknown dtype '" + dt + "'");
  }
  n_layers = user_layers > 0 ? user_layers : count_layers(model);
  model_path = path;
  model_loaded = true;
}

void PairPylmpTorch::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;
  if (narg != 3 + ntypes || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_coeff pylmp/torch: expected `pair_coeff * * MODEL_FILE` followed by one element "
                      "per atom type (" + std::to_string(ntypes) + " here)");

  load_model(arg[2]);

  type2species.assign(ntypes + 1, -1);
  for (int t = 1; t <= ntypes; t++) {
    const std::string elem = arg[2 + t];
    int idx = -1;
    for (size_t k = 0; k < model_elements.size(); k++)
      if (model_elements[k] == elem) idx = (int) k;
    if (idx < 0)
      error->all(FLERR, "pair_coeff pylmp/torch: element '" + elem + "' (type " + std::to_string(t) +
                            ") is not covered by model '" + model_path + "' (it has " +
                            std::to_string(model_elements.size()) +
                            " elements); map that type to one of the model's elements or use another potential");
    type2species[t] = idx;
  }
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) setflag[i][j] = 1;
}

void PairPylmpTorch::init_style()
{
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "pair_style pylmp/torch needs `units metal` (the model works in eV and Angstrom), "
                      "not `units " + std::string(update->unit_style) + "`; set units metal before the box");
  if (!model_loaded) error->all(FLERR, "pair_style pylmp/torch: no model; give pair_coeff * * MODEL_FILE ...");
  if (force->newton_pair == 0)
    error->all(FLERR, "pair_style pylmp/torch needs `newton on` (forces on ghost atoms are sent back to their "
                      "owners); remove `newton off` from the input");
  if (atom->tag_enable == 0)
    error->all(FLERR, "pair_style pylmp/torch needs atom IDs; remove `atom_modify id no`");

  const bool multi = comm->nprocs > 1;
  neighbor->add_request(this, NeighConst::REQ_FULL | (multi ? NeighConst::REQ_GHOST : 0));

  if (multi) {
    // message passing: a local atom sees atoms up to n_layers * r_max away, so widen the ghost shell
    if (n_layers < 1)
      error->all(FLERR, "pair_style pylmp/torch: cannot tell the number of message-passing layers of '" +
                            model_path + "'; give it as `pair_style pylmp/torch layers N` to run on >1 MPI rank");
    const double need = n_layers * r_max + neighbor->skin;
    if (comm->cutghostuser < need) {
      comm->cutghostuser = need;
      if (comm->me == 0)
        utils::logmesg(lmp, "pylmp/torch: {} MPI ranks, {} message-passing layers x r_max {} A: ghost cutoff "
                            "set to {} A\n", comm->nprocs, n_layers, r_max, need);
    }
  }
}

double PairPylmpTorch::init_one(int, int)
{
  return r_max;
}

void PairPylmpTorch::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  if (vflag_atom)
    error->all(FLERR, "pair_style pylmp/torch does not compute per-atom virials (compute stress/atom); "
                      "use the global pressure instead");

  double **x = atom->x;
  double **f = atom->f;
  const int *type = atom->type;
  const tagint *tag = atom->tag;
  const int nlocal = atom->nlocal;
  if (nlocal == 0) return;    // nothing owned here: this rank adds no energy and no force

  const int *numneigh = list->numneigh;
  int **firstneigh = list->firstneigh;
  const bool ghost_lists = list->ghost != 0;
  const int max_hop = ghost_lists ? n_layers - 1 : 0;    // nodes up to this hop need their own edges
  const double rc2 = r_max * r_max;

  // graph nodes: one per atom ID; local atoms first (node i = local atom i)
  std::unordered_map<tagint, int> tag2node;
  tag2node.reserve(2 * (size_t) nlocal);
  std::vector<int> node_atom(nlocal), node_hop(nlocal, 0);
  std::vector<int64_t> species(nlocal);
  for (int i = 0; i < nlocal; i++) {
    tag2node[tag[i]] = i;
    node_atom[i] = i;
    species[i] = type2species[type[i]];
  }

  std::vector<int64_t> edge_i, edge_j;    // graph nodes: centre, neighbour
  std::vector<int> atom_i, atom_j;        // the LAMMPS atoms (images) that carry the edge's forces
  std::vector<double> vec;
  const size_t guess = (size_t) nlocal * 64;
  edge_i.reserve(guess); edge_j.reserve(guess); atom_i.reserve(guess); atom_j.reserve(guess);
  vec.reserve(3 * guess);

  for (size_t n = 0; n < node_atom.size(); n++) {    // breadth first: nodes are appended in hop order
    if (node_hop[n] > max_hop) break;
    const int a = node_atom[n];
    const int *jlist = firstneigh[a];
    const int jnum = numneigh[a];
    for (int jj = 0; jj < jnum; jj++) {
      const int j = jlist[jj] & NEIGHMASK;
      const double dx = x[j][0] - x[a][0], dy = x[j][1] - x[a][1], dz = x[j][2] - x[a][2];
      if (dx * dx + dy * dy + dz * dz >= rc2) continue;
      int m;
      auto it = tag2node.find(tag[j]);
      if (it != tag2node.end()) {
        m = it->second;
      } else {
        if (!ghost_lists)
          error->one(FLERR, "pair_style pylmp/torch: ghost atom " + std::to_string(tag[j]) +
                                " has no local image on this single rank; is the box periodic and are atom IDs unique?");
        m = (int) node_atom.size();
        tag2node[tag[j]] = m;
        node_atom.push_back(j);
        node_hop.push_back(node_hop[n] + 1);
        species.push_back(type2species[type[j]]);
      }
      edge_i.push_back((int64_t) n);
      edge_j.push_back((int64_t) m);
      atom_i.push_back(a);
      atom_j.push_back(j);
      vec.push_back(dx); vec.push_back(dy); vec.push_back(dz);
    }
  }

  const int64_t nnodes = (int64_t) species.size();
  const int64_t nedges = (int64_t) edge_i.size();
  std::vector<int64_t> edge_index(2 * nedges);
  std::copy(edge_i.begin(), edge_i.end(), edge_index.begin());
  std::copy(edge_j.begin(), edge_j.end(), edge_index.begin() + nedges);

  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor t_species = torch::from_blob(species.data(), {nnodes}, i64).to(device);
  torch::Tensor t_edges = torch::from_blob(edge_index.data(), {2, nedges}, i64).to(device);
  torch::Tensor t_vec = torch::from_blob(vec.data(), {nedges, 3}, f64).to(device, dtype).detach();
  t_vec.requires_grad_(true);
  torch::Tensor t_nlocal = torch::full({1}, (int64_t) nlocal, i64);

  c10::Dict<std::string, torch::Tensor> input;
  input.insert("x", t_species);
  input.insert("edge_index", t_edges);
  input.insert("edge_vec", t_vec);
  input.insert("num_atoms", t_nlocal.to(device));
  input.insert("nlocal", t_nlocal);

  torch::Tensor atomic_energy;
  try {
    auto output = model.forward({input}).toGenericDict();
    atomic_energy = output.at("atomic_energy").toTensor().reshape({-1});
  } catch (const std::exception &e) {
    error->one(FLERR, "pair_style pylmp/torch: model '" + model_path + "' failed (" + first_line(e.what()) +
                          "); is it a deployed SevenNet model? " + HOW_TO_MAKE);
  }
  torch::Tensor e_local = atomic_energy.narrow(0, 0, nlocal);
  torch::Tensor energy = e_local.sum();
  auto grads = torch::autograd::grad({energy}, {t_vec}, {}, false, false, true);
  torch::Tensor dedr = grads[0].defined() ? grads[0].to(torch::kCPU, torch::kFloat64).contiguous()
                                          : torch::zeros({nedges, 3}, f64);
  const double *g = dedr.data_ptr<double>();

  // E(vec), vec = x_j - x_i:  F_i = +dE/dvec, F_j = -dE/dvec; virial W = sum x F = -sum vec (x) dE/dvec
  double v[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  for (int64_t e = 0; e < nedges; e++) {
    const double *ge = g + 3 * e;
    const double *r = vec.data() + 3 * e;
    const int a = atom_i[e], b = atom_j[e];
    f[a][0] += ge[0]; f[a][1] += ge[1]; f[a][2] += ge[2];
    f[b][0] -= ge[0]; f[b][1] -= ge[1]; f[b][2] -= ge[2];
    v[0] -= r[0] * ge[0];
    v[1] -= r[1] * ge[1];
    v[2] -= r[2] * ge[2];
    v[3] -= r[0] * ge[1];
    v[4] -= r[0] * ge[2];
    v[5] -= r[1] * ge[2];
  }
  if (vflag_global)
    for (int k = 0; k < 6; k++) virial[k] += v[k];
  if (eflag_global) eng_vdwl += energy.item<double>();
  if (eflag_atom) {
    torch::Tensor ea = e_local.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    const double *pe = ea.data_ptr<double>();
    for (int i = 0; i < nlocal; i++) eatom[i] += pe[i];
  }
}
