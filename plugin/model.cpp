// open_model(): tells the model family from the file. nequip-compile's AOTInductor packages are zip archives
// holding `<name>/data/aotinductor/...`; everything else must be TorchScript, whose extra files (SevenNet) or
// buffers (MACE) name the family.
#include "model.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

namespace pylmp_torch {

const char *HOW_TO_MAKE =
    "supported files: SevenNet `python -m pylmp.sevennet_export CKPT FILE.pt2` (AOTInductor) or `sevenn get_model "
    "CKPT -o FILE` (TorchScript; python -m pylmp.plugin deploys both for SevenNet-0); "
    "NequIP `python -m pylmp.nequip_compile CKPT FILE.nequip.pt2` (any number of MPI ranks; nequip-compile "
    "--target pair_nequip: one rank); Allegro `nequip-compile CKPT FILE.nequip.pt2 --mode aotinductor --device "
    "cpu --target pair_allegro`; MACE `mace_create_lammps_model MODEL --format libtorch`";

std::string first_line(const std::string &text)
{
  std::string line = text.substr(0, text.find('\n'));
  return line.size() > 200 ? line.substr(0, 200) + "..." : line;
}

namespace {

const char *SYMBOLS[] = {
    "X",  "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",
    "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn",
    "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho",
    "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po",
    "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md",
    "No", "Lr"};

bool is_aoti_package(const std::string &path)
{
  // zip entry names are stored in clear text; an AOTI package has a `data/aotinductor/` folder
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return bytes.compare(0, 2, "PK") == 0 && bytes.find("/data/aotinductor/") != std::string::npos;
}

// AOTIModelPackageLoader unzips the package into $TMPDIR/aotinductor_XXXXXX and removes that folder in its
// destructor, which never runs: open_model keeps every model for the life of the process. So the loader unzips into
// a folder of the plugin's own, removed when the process exits (files of a loaded .so may go: it stays mapped). At
// exit only the files are removed; libtorch is not touched, as it may already be gone.
std::vector<std::string> &extract_dirs()
{
  static auto *dirs = new std::vector<std::string>;
  return *dirs;
}

void remove_extract_dirs()
{
  for (const std::string &dir : extract_dirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

std::unique_ptr<AotiLoader> load_aoti_package(const std::string &path)
{
  const char *tmpdir = std::getenv("TMPDIR");
  const std::string saved = tmpdir ? tmpdir : "";
  std::string dir = (saved.empty() ? std::string("/tmp") : saved) + "/pylmp-aoti-XXXXXX";
  if (!mkdtemp(dir.data())) throw ModelError("cannot create a folder in " + dir.substr(0, dir.rfind('/')) +
                                             " to unpack '" + path + "' (set TMPDIR to a writable folder)");
  if (extract_dirs().empty()) std::atexit(remove_extract_dirs);
  extract_dirs().push_back(dir);
  // the loader reads TMPDIR when it unzips; open_model's lock keeps other loads out meanwhile
  auto restore = [&saved] { saved.empty() ? unsetenv("TMPDIR") : setenv("TMPDIR", saved.c_str(), 1); };
  setenv("TMPDIR", dir.c_str(), 1);
  try {
    auto loader = std::make_unique<AotiLoader>(path, "model");
    restore();
    return loader;
  } catch (...) {
    restore();
    throw;
  }
}

std::unique_ptr<ModelRunner> open_aoti(const std::string &path, torch::Device device)
{
  std::unique_ptr<AotiLoader> loader;
  AotiMetadata meta;
  try {
    loader = load_aoti_package(path);
    meta = loader->get_metadata();
  } catch (const ModelError &) {
    throw;
  } catch (const std::exception &e) {
    throw ModelError("'" + path + "' is an AOTInductor package that this libtorch cannot load (" +
                     first_line(e.what()) + "); AOTI packages are built for one CPU/GPU and torch version: "
                     "recompile it here (python -m pylmp.plugin redoes the registry's models)");
  }
  std::unique_ptr<ModelRunner> runner;
  if (meta["pylmp_family"] == "SevenNet")
    runner = open_sevennet_aoti(std::move(loader), meta, path, device);
  else
    runner = open_nequip_aoti(std::move(loader), meta, path, device);
  runner->format = "AOTInductor";
  return runner;
}

std::unique_ptr<ModelRunner> load_model(const std::string &path, torch::Device device);

}    // namespace

std::string element_symbol(int64_t z, const std::string &path)
{
  if (z < 1 || z >= (int64_t) (sizeof(SYMBOLS) / sizeof(SYMBOLS[0])))
    throw ModelError("'" + path + "' lists atomic number " + std::to_string(z) + ", which is not an element");
  return SYMBOLS[z];
}

std::vector<std::string> split_words(const std::string &text)
{
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::shared_ptr<ModelRunner> open_model(const std::string &path, torch::Device device)
{
  // key: the file (with its size and modification time, so a redeployed file is reloaded) and the device
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw ModelError("model file '" + path + "' not found; " + HOW_TO_MAKE);
  using Key = std::tuple<std::string, long long, long long, std::string>;
  // never freed (nor destroyed at exit, after libtorch may be gone): the process keeps what it loaded
  static auto *kept = new std::map<Key, std::shared_ptr<ModelRunner>>;
  static std::mutex lock;
  const Key key{path, (long long) st.st_size, (long long) st.st_mtime, device.str()};
  std::lock_guard<std::mutex> guard(lock);
  auto it = kept->find(key);
  if (it != kept->end()) return it->second;
  std::shared_ptr<ModelRunner> runner = load_model(path, device);
  (*kept)[key] = runner;
  return runner;
}

namespace {

std::unique_ptr<ModelRunner> load_model(const std::string &path, torch::Device device)
{
  if (is_aoti_package(path)) return open_aoti(path, device);

  torch::jit::Module module;
  ExtraFiles extra{{"chemical_symbols_to_index", ""}, {"cutoff", ""}, {"dtype", ""}};
  try {
    module = torch::jit::load(path, device, extra);
  } catch (const std::exception &e) {
    throw ModelError("'" + path + "' is neither an AOTInductor package nor a readable TorchScript model (" +
                     first_line(e.what()) + "); " + HOW_TO_MAKE);
  }
  module.eval();
  std::unique_ptr<ModelRunner> runner = open_sevennet(module, extra, path, device);
  if (!runner) runner = open_mace(module, path, device);
#ifdef PYLMP_WITH_METATOMIC
  if (!runner) runner = open_metatomic(module, path, device);
#endif
  if (!runner)
    throw ModelError("'" + path + "' is TorchScript but not a model this pair style knows (no SevenNet "
                     "metadata, no MACE buffers, no metatomic capabilities); " + HOW_TO_MAKE);
  runner->format = "TorchScript";
  return runner;
}

}    // namespace

}    // namespace pylmp_torch
