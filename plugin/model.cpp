// open_model(): tells the model family from the file. nequip-compile's AOTInductor packages are zip archives
// holding `<name>/data/aotinductor/...`; everything else must be TorchScript, whose extra files (SevenNet) or
// buffers (MACE) name the family.
#include "model.h"

#include <fstream>
#include <iterator>

namespace pylmp_torch {

const char *HOW_TO_MAKE =
    "supported files: SevenNet `sevenn get_model 7net-0 -o FILE` (python -m pylmp.plugin deploys SevenNet-0); "
    "NequIP `python -m pylmp.nequip_compile CKPT FILE.nequip.pt2` (any number of MPI ranks; nequip-compile "
    "--target pair_nequip: one rank); Allegro `nequip-compile CKPT FILE.nequip.pt2 --mode aotinductor --device "
    "cpu --target pair_allegro`; MACE `mace_create_lammps_model MODEL --format libtorch`";

std::string first_line(const std::string &text)
{
  std::string line = text.substr(0, text.find('\n'));
  return line.size() > 200 ? line.substr(0, 200) + "..." : line;
}

namespace {

bool is_aoti_package(const std::string &path)
{
  // zip entry names are stored in clear text; an AOTI package has a `data/aotinductor/` folder
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return bytes.compare(0, 2, "PK") == 0 && bytes.find("/data/aotinductor/") != std::string::npos;
}

}    // namespace

std::unique_ptr<ModelRunner> open_model(const std::string &path, torch::Device device)
{
  if (!std::ifstream(path).good())
    throw ModelError("model file '" + path + "' not found; " + HOW_TO_MAKE);
  if (is_aoti_package(path)) return open_nequip_aoti(path, device);

  torch::jit::Module module;
  ExtraFiles extra{{"chemical_symbols_to_index", ""}, {"cutoff", ""}, {"dtype", ""}};
  try {
    module = torch::jit::load(path, device, extra);
  } catch (const std::exception &e) {
    throw ModelError("'" + path + "' is neither an AOTInductor package nor a readable TorchScript model (" +
                     first_line(e.what()) + "); " + HOW_TO_MAKE);
  }
  module.eval();
  if (auto runner = open_sevennet(module, extra, path, device)) return runner;
  if (auto runner = open_mace(module, path, device)) return runner;
  throw ModelError("'" + path + "' is TorchScript but not a model this pair style knows (no SevenNet "
                   "metadata, no MACE buffers); " + HOW_TO_MAKE);
}

}    // namespace pylmp_torch
