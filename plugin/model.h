// The interface between pair_style pylmp/torch and one family of deployed models.
//
// The pair style builds a graph from LAMMPS's neighbour lists (nodes, species, positions, directed edges with
// their actual image vectors) and hands it to a ModelRunner, which returns the energy of the local atoms and
// either forces per node or dE/d(edge vector) per edge. One runner per model family, each in its own file:
//   model_sevennet.cpp  SevenNet: AOTInductor packages (`python -m pylmp.sevennet_export`, the fast route) and
//                       deployed TorchScript (`sevenn get_model`, the fallback)
//   model_nequip.cpp    NequIP / Allegro AOTInductor packages (`nequip-compile --mode aotinductor`)
//   model_mace.cpp      MACE TorchScript for LAMMPS (`mace_create_lammps_model --format libtorch`)
//   model_metatomic.cpp metatomic AtomisticModel TorchScript (PET-MAD, `mtt export`); built where metatomic-torch is
// open_model() (model.cpp) tells the family from the file itself.
#ifndef PYLMP_TORCH_MODEL_H
#define PYLMP_TORCH_MODEL_H

#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/script.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace pylmp_torch {

// Bad or unsupported model file: the message names the cause and how to get a good file.
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How the graph handed to compute() is built.
enum class GraphKind {
  // one node per atom ID (a periodic image of an atom is the same node); edges carry the image vector.
  // On several MPI ranks, nodes up to n_layers hops from the local atoms (ghost shell n_layers x r_max).
  PerAtomId,
  // one node per LAMMPS atom, local and ghost alike; edges only from local atoms (strictly local models).
  PerLammpsAtom,
};

struct Graph {
  int64_t nlocal = 0;              // nodes 0..nlocal-1 are the local atoms, in LAMMPS order
  std::vector<int64_t> species;    // model species index of each node
  std::vector<double> pos;         // [nodes x 3] position of the node's atom (the first image reached)
  std::vector<int64_t> edge_index; // [2 x E] row 0 = centre node, row 1 = neighbour node
  std::vector<double> vec;         // [E x 3] x_neighbour - x_centre of the actual images
  double cell[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};    // the LAMMPS box, rows a b c (models that need the cell)
  bool pbc[3] = {true, true, true};
  int64_t num_nodes() const { return (int64_t) species.size(); }
  int64_t num_edges() const { return (int64_t) vec.size() / 3; }
  // CPU tensor views of the arrays above (from_blob does not copy; the graph outlives every model call)
  torch::Tensor species_view() const { return view(species.data(), {num_nodes()}); }
  torch::Tensor pos_view() const { return view(pos.data(), {num_nodes(), 3}); }
  torch::Tensor edge_index_view() const { return view(edge_index.data(), {2, num_edges()}); }
  torch::Tensor vec_view() const { return view(vec.data(), {num_edges(), 3}); }

 private:
  static torch::Tensor view(const int64_t *data, at::IntArrayRef shape)
  {
    return torch::from_blob(const_cast<int64_t *>(data), shape, torch::TensorOptions().dtype(torch::kInt64));
  }
  static torch::Tensor view(const double *data, at::IntArrayRef shape)
  {
    return torch::from_blob(const_cast<double *>(data), shape, torch::TensorOptions().dtype(torch::kFloat64));
  }
};

struct Result {
  double energy = 0.0;             // sum over local atoms
  torch::Tensor atom_energy;       // [nlocal] float64 CPU, only when asked for
  torch::Tensor node_forces;       // [nodes x 3] float64 CPU, or undefined when edge_grad is given
  torch::Tensor edge_grad;         // [E x 3] float64 CPU dE/d(vec), or undefined
  bool has_virial = false;         // else the pair style sums -vec (x) edge_grad
  double virial[6] = {0, 0, 0, 0, 0, 0};    // xx yy zz xy xz yz, LAMMPS convention (sum r f)
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  virtual void compute(const Graph &graph, bool want_atom_energy, Result &out) = 0;

  std::string family;                 // "SevenNet", "NequIP", "Allegro", "MACE": for messages
  std::string format;                 // "AOTInductor" or "TorchScript": for the log
  std::vector<std::string> elements;  // model species in index order
  double r_max = 0.0;
  GraphKind graph_kind = GraphKind::PerAtomId;
  int n_layers = 0;                   // message-passing layers (PerAtomId on >1 rank); 0 = unknown
  bool multi_rank = true;             // false: exact on one rank only (message says why in multi_rank_why)
  std::string multi_rank_why;
  torch::Device device = torch::kCPU;
};

// Loads MODEL_FILE, detecting its family. Throws ModelError. A file already loaded in this process for the same
// device (and unchanged on disk) is shared, not loaded again: a study's many small LAMMPS instances in one
// process pay the load (and the AOTI package's unpacking) once.
std::shared_ptr<ModelRunner> open_model(const std::string &path, torch::Device device);

// One runner per family: each returns nullptr when the file is not of its family.
using ExtraFiles = std::unordered_map<std::string, std::string>;    // TorchScript extra files
std::unique_ptr<ModelRunner> open_sevennet(torch::jit::Module &module, ExtraFiles &extra, const std::string &path,
                                           torch::Device device);
std::unique_ptr<ModelRunner> open_mace(torch::jit::Module &module, const std::string &path, torch::Device device);
std::unique_ptr<ModelRunner> open_metatomic(torch::jit::Module &module, const std::string &path, torch::Device device);
using AotiLoader = torch::inductor::AOTIModelPackageLoader;
using AotiMetadata = std::unordered_map<std::string, std::string>;
std::unique_ptr<ModelRunner> open_sevennet_aoti(std::unique_ptr<AotiLoader> loader, AotiMetadata &meta,
                                                const std::string &path, torch::Device device);
std::unique_ptr<ModelRunner> open_nequip_aoti(std::unique_ptr<AotiLoader> loader, AotiMetadata &meta,
                                              const std::string &path, torch::Device device);
std::vector<std::string> split_words(const std::string &text);
// Chemical symbol of atomic number z; throws ModelError naming the model file otherwise.
std::string element_symbol(int64_t z, const std::string &path);

// How to make a model file of each kind, for error messages.
extern const char *HOW_TO_MAKE;

std::string first_line(const std::string &text);

}    // namespace pylmp_torch

#endif
