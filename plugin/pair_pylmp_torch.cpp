// pair_style pylmp/torch: see pair_pylmp_torch.h for the graphs it builds and model.h for the model families.
// Usage:
//   pair_style  pylmp/torch [threads N] [device cpu|cuda] [layers N]
//   pair_coeff  * * MODEL_FILE Elem1 Elem2 ...     (one element per LAMMPS type)

#include "pair_pylmp_torch.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "platform.h"
#include "update.h"
#include "utils.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

using namespace LAMMPS_NS;
using pylmp_torch::GraphKind;

PairPylmpTorch::PairPylmpTorch(LAMMPS *lmp) : Pair(lmp)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the virial comes from the model or from the edge sums in compute()
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
        device = torch::Device(torch::kCPU);
      } else if (value == "cuda") {
        if (!torch::cuda::is_available())
          error->all(FLERR, "pair_style pylmp/torch: 'device cuda' asked for, but this libtorch has no "
                            "usable CUDA device; use 'device cpu' or install a CUDA build of torch");
        // one GPU per rank on a node, round-robin over the visible devices
        int ndev = (int) torch::cuda::device_count();
        device = torch::Device(torch::kCUDA, ndev > 0 ? comm->me % ndev : 0);
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
}

void PairPylmpTorch::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;
  if (narg != 3 + ntypes || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_coeff pylmp/torch: expected `pair_coeff * * MODEL_FILE` followed by one element "
                      "per atom type (" + std::to_string(ntypes) + " here)");

  const double start = platform::walltime();
  try {
    model = pylmp_torch::open_model(arg[2], device);
  } catch (const std::exception &e) {
    error->all(FLERR, std::string("pair_coeff pylmp/torch: ") + e.what());
  }
  model_path = arg[2];
  // a model this process loaded before is shared (model.cpp): then this takes ~0 s
  if (comm->me == 0)
    utils::logmesg(lmp, "pylmp/torch: {} {} model {} ready in {:.3f} s ({} elements, r_max {} A, device {})\n",
                   model->family, model->format, model_path, platform::walltime() - start,
                   model->elements.size(), model->r_max, device.str());
  n_layers = user_layers > 0 ? user_layers : model->n_layers;

  const auto &elements = model->elements;
  type2species.assign(ntypes + 1, -1);
  for (int t = 1; t <= ntypes; t++) {
    const std::string elem = arg[2 + t];
    for (size_t k = 0; k < elements.size(); k++)
      if (elements[k] == elem) type2species[t] = (int64_t) k;
    if (type2species[t] < 0) {
      std::string have;
      if (elements.size() <= 12)
        for (const auto &e : elements) have += (have.empty() ? "" : " ") + e;
      else
        have = std::to_string(elements.size()) + " elements";
      error->all(FLERR, "pair_coeff pylmp/torch: element '" + elem + "' (type " + std::to_string(t) +
                            ") is not covered by " + model->family + " model '" + model_path + "' (it has " +
                            have + "); map that type to one of the model's elements or use another potential");
    }
  }
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) setflag[i][j] = 1;
}

void PairPylmpTorch::init_style()
{
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "pair_style pylmp/torch needs `units metal` (the model works in eV and Angstrom), "
                      "not `units " + std::string(update->unit_style) + "`; set units metal before the box");
  if (!model) error->all(FLERR, "pair_style pylmp/torch: no model; give pair_coeff * * MODEL_FILE ...");
  if (force->newton_pair == 0)
    error->all(FLERR, "pair_style pylmp/torch needs `newton on` (forces on ghost atoms are sent back to their "
                      "owners); remove `newton off` from the input");
  if (atom->tag_enable == 0)
    error->all(FLERR, "pair_style pylmp/torch needs atom IDs; remove `atom_modify id no`");

  const bool multi = comm->nprocs > 1;
  if (multi && !model->multi_rank)
    error->all(FLERR, "pair_style pylmp/torch: " + model->family + " model '" + model_path + "' on " +
                          std::to_string(comm->nprocs) + " MPI ranks: " + model->multi_rank_why);
  const bool ghost_shell = multi && model->graph_kind == GraphKind::PerAtomId;
  neighbor->add_request(this, NeighConst::REQ_FULL | (ghost_shell ? NeighConst::REQ_GHOST : 0));

  if (ghost_shell) {
    // message passing: a local atom sees atoms up to n_layers * r_max away, so widen the ghost shell
    if (n_layers < 1)
      error->all(FLERR, "pair_style pylmp/torch: cannot tell the number of message-passing layers of '" +
                            model_path + "'; give it as `pair_style pylmp/torch layers N` to run on >1 MPI rank");
    const double need = n_layers * model->r_max + neighbor->skin;
    if (comm->cutghostuser < need) {
      comm->cutghostuser = need;
      if (comm->me == 0)
        utils::logmesg(lmp, "pylmp/torch: {} MPI ranks, {} message-passing layers x r_max {} A: ghost cutoff "
                            "set to {} A\n", comm->nprocs, n_layers, model->r_max, need);
    }
  }
}

double PairPylmpTorch::init_one(int, int)
{
  return model->r_max;
}

// One node per atom ID, breadth first from the local atoms (see the header).
void PairPylmpTorch::build_graph_per_atom_id()
{
  double **x = atom->x;
  const int *type = atom->type;
  const tagint *tag = atom->tag;
  const int nlocal = atom->nlocal;
  const int *numneigh = list->numneigh;
  int **firstneigh = list->firstneigh;
  const bool ghost_lists = list->ghost != 0;
  const int max_hop = ghost_lists ? n_layers - 1 : 0;    // nodes up to this hop need their own edges
  const double rc2 = model->r_max * model->r_max;

  std::unordered_map<tagint, int> tag2node;
  tag2node.reserve(2 * (size_t) nlocal);
  std::vector<int> node_hop(nlocal, 0);
  node_atom.resize(nlocal);
  graph.species.resize(nlocal);
  for (int i = 0; i < nlocal; i++) {
    tag2node[tag[i]] = i;
    node_atom[i] = i;
    graph.species[i] = type2species[type[i]];
  }

  std::vector<int64_t> edge_i, edge_j;
  edge_i.reserve(graph.vec.capacity() / 3);
  edge_j.reserve(graph.vec.capacity() / 3);
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
        graph.species.push_back(type2species[type[j]]);
      }
      edge_i.push_back((int64_t) n);
      edge_j.push_back((int64_t) m);
      atom_i.push_back(a);
      atom_j.push_back(j);
      graph.vec.push_back(dx); graph.vec.push_back(dy); graph.vec.push_back(dz);
    }
  }
  graph.edge_index = std::move(edge_i);
  graph.edge_index.insert(graph.edge_index.end(), edge_j.begin(), edge_j.end());
}

// One node per LAMMPS atom (local and ghost), edges from local atoms only (strictly local models).
void PairPylmpTorch::build_graph_per_lammps_atom()
{
  double **x = atom->x;
  const int *type = atom->type;
  const int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  const int *numneigh = list->numneigh;
  int **firstneigh = list->firstneigh;
  const double rc2 = model->r_max * model->r_max;

  node_atom.resize(nall);
  graph.species.resize(nall);
  for (int i = 0; i < nall; i++) {
    node_atom[i] = i;
    graph.species[i] = type2species[type[i]];
  }
  std::vector<int64_t> edge_j;
  for (int ii = 0; ii < list->inum; ii++) {
    const int a = list->ilist[ii];
    const int *jlist = firstneigh[a];
    for (int jj = 0; jj < numneigh[a]; jj++) {
      const int j = jlist[jj] & NEIGHMASK;
      const double dx = x[j][0] - x[a][0], dy = x[j][1] - x[a][1], dz = x[j][2] - x[a][2];
      if (dx * dx + dy * dy + dz * dz >= rc2) continue;
      graph.edge_index.push_back(a);
      edge_j.push_back(j);
      atom_i.push_back(a);
      atom_j.push_back(j);
      graph.vec.push_back(dx); graph.vec.push_back(dy); graph.vec.push_back(dz);
    }
  }
  graph.edge_index.insert(graph.edge_index.end(), edge_j.begin(), edge_j.end());
}

void PairPylmpTorch::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  if (vflag_atom)
    error->all(FLERR, "pair_style pylmp/torch does not compute per-atom virials (compute stress/atom); "
                      "use the global pressure instead");
  const int nlocal = atom->nlocal;
  if (nlocal == 0) return;    // nothing owned here: this rank adds no energy and no force

  graph.nlocal = nlocal;
  const double *h = domain->h;    // xprd yprd zprd yz xz xy: cell rows a = (xprd,0,0), b = (xy,yprd,0), c = (xz,yz,zprd)
  const double cell[9] = {h[0], 0.0, 0.0, h[5], h[1], 0.0, h[4], h[3], h[2]};
  std::copy(cell, cell + 9, graph.cell);
  graph.pbc[0] = domain->xperiodic; graph.pbc[1] = domain->yperiodic; graph.pbc[2] = domain->zperiodic;
  graph.species.clear(); graph.edge_index.clear(); graph.vec.clear();
  atom_i.clear(); atom_j.clear();
  if (model->graph_kind == GraphKind::PerLammpsAtom)
    build_graph_per_lammps_atom();
  else
    build_graph_per_atom_id();
  double **x = atom->x;
  graph.pos.resize(3 * node_atom.size());
  for (size_t n = 0; n < node_atom.size(); n++)
    for (int d = 0; d < 3; d++) graph.pos[3 * n + d] = x[node_atom[n]][d];

  pylmp_torch::Result res;
  try {
    model->compute(graph, eflag_atom != 0, res);
  } catch (const std::exception &e) {
    error->one(FLERR, "pair_style pylmp/torch: " + model->family + " model '" + model_path + "' failed (" +
                          pylmp_torch::first_line(e.what()) + ")");
  }

  double **f = atom->f;
  double v[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  if (res.node_forces.defined()) {
    const double *fn = res.node_forces.data_ptr<double>();
    for (size_t n = 0; n < node_atom.size(); n++)
      for (int d = 0; d < 3; d++) f[node_atom[n]][d] += fn[3 * n + d];
  } else {
    // E(vec), vec = x_j - x_i:  F_i = +dE/dvec, F_j = -dE/dvec; virial W = sum x F = -sum vec (x) dE/dvec
    const double *g = res.edge_grad.data_ptr<double>();
    const int64_t nedges = graph.num_edges();
    for (int64_t e = 0; e < nedges; e++) {
      const double *ge = g + 3 * e;
      const double *r = graph.vec.data() + 3 * e;
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
  }
  if (res.has_virial)
    for (int k = 0; k < 6; k++) v[k] = res.virial[k];
  if (vflag_global)
    for (int k = 0; k < 6; k++) virial[k] += v[k];
  if (eflag_global) eng_vdwl += res.energy;
  if (eflag_atom && res.atom_energy.defined()) {
    const double *pe = res.atom_energy.data_ptr<double>();
    for (int i = 0; i < nlocal; i++) eatom[i] += pe[i];
  }
}
