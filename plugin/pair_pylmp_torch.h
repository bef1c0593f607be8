// pair_style pylmp/torch: runs a deployed TorchScript machine-learning potential inside stock LAMMPS.
//
// Supported model kind: SevenNet deployed TorchScript (`sevenn get_model 7net-0 -o FILE`), i.e. a module
// whose forward(Dict[str, Tensor]) -> Dict[str, Tensor] reads
//   "x"          int64 [N_nodes]     species index of each graph node (order of chemical_symbols_to_index)
//   "edge_index" int64 [2, E]        row 0 = centre node i, row 1 = neighbour node j
//   "edge_vec"   float [E, 3]        x_j - x_i (the actual image positions)
// and returns "atomic_energy" [N_nodes, 1]. Forces and virial come from autograd on edge_vec.
//
// The graph: one node per atom ID. Local atoms are nodes 0..nlocal-1; a periodic image of a local atom
// (a ghost with the same tag) is the same node, so on one MPI rank the graph is exactly the periodic system
// and the ghost cutoff is only r_max + skin. Across MPI ranks the model is message passing: a local atom's
// energy depends on atoms up to n_layers * r_max away. The pair style then widens the ghost shell to
// n_layers * r_max + skin and walks the neighbour lists breadth-first from the local atoms (hop 0) up to
// hop n_layers - 1, adding one node per new atom ID (its first-reached image is the one whose neighbours are
// all present). Each rank sums the energies of its local atoms only; forces on ghost images are
// reverse-communicated (newton on). This is exact at any number of ranks.
#ifdef PAIR_CLASS
// (registered through the plugin interface in pylmp_torch_plugin.cpp, not through style_pair.h)
#else

#ifndef LMP_PAIR_PYLMP_TORCH_H
#define LMP_PAIR_PYLMP_TORCH_H

#include "pair.h"

#include <string>
#include <vector>

#include <torch/script.h>

namespace LAMMPS_NS {

class PairPylmpTorch : public Pair {
 public:
  PairPylmpTorch(class LAMMPS *);
  ~PairPylmpTorch() override;
  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;

 protected:
  void allocate();
  void load_model(const std::string &path);

  torch::jit::Module model;
  bool model_loaded = false;
  std::string model_path;
  std::vector<std::string> model_elements;    // model species in index order
  std::vector<int64_t> type2species;          // LAMMPS type -> model species index (-1 = not set)
  double r_max = 0.0;                         // model cutoff (Angstrom)
  int n_layers = 0;                           // message-passing layers (from the model or `layers N`)
  int user_layers = 0;                        // `layers N` keyword, 0 = from the model
  int num_threads = 1;                        // torch intra-op threads per MPI rank
  bool use_cuda = false;
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

}    // namespace LAMMPS_NS

#endif
#endif
