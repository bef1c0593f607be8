// pair_style pylmp/torch: runs deployed machine-learning potentials inside stock LAMMPS.
//
// The model family (SevenNet, NequIP, Allegro, MACE) is detected from the file; each family is a ModelRunner
// (model.h). This class builds the graph from LAMMPS's neighbour lists and applies the results.
//
// Graphs (GraphKind in model.h):
// - PerAtomId (message-passing models): one node per atom ID. Local atoms are nodes 0..nlocal-1; a periodic
//   image of a local atom (a ghost with the same tag) is the same node, so on one MPI rank the graph is exactly
//   the periodic system and the ghost cutoff is only r_max + skin. Across MPI ranks a local atom's energy
//   depends on atoms up to n_layers * r_max away: the ghost shell is widened to n_layers * r_max + skin and the
//   neighbour lists are walked breadth-first from the local atoms (hop 0) up to hop n_layers - 1, adding one
//   node per new atom ID (its first-reached image is the one whose neighbours are all present).
// - PerLammpsAtom (strictly local models, Allegro): nodes are the local and ghost atoms as LAMMPS holds them,
//   edges leave local atoms only: plain domain decomposition.
// Each rank sums the energies of its local atoms; forces on ghost atoms are reverse-communicated (newton on).
#ifdef PAIR_CLASS
// (registered through the plugin interface in pylmp_torch_plugin.cpp, not through style_pair.h)
#else

#ifndef LMP_PAIR_PYLMP_TORCH_H
#define LMP_PAIR_PYLMP_TORCH_H

#include "pair.h"

#include "model.h"

#include <memory>
#include <string>
#include <vector>

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
  void build_graph_per_atom_id();
  void build_graph_per_lammps_atom();

  std::shared_ptr<pylmp_torch::ModelRunner> model;    // shared by the LAMMPS instances of a process
  std::string model_path;
  std::vector<int64_t> type2species;    // LAMMPS type -> model species index (-1 = not set)
  int n_layers = 0;                     // message-passing layers (from the model or `layers N`)
  int user_layers = 0;                  // `layers N` keyword, 0 = from the model
  int num_threads = 1;                  // torch intra-op threads per MPI rank
  torch::Device device = torch::kCPU;

  // the graph of the current step, and the LAMMPS atom behind each node and edge end
  pylmp_torch::Graph graph;
  std::vector<int> node_atom, atom_i, atom_j;
};

}    // namespace LAMMPS_NS

#endif
#endif
