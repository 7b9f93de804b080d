/* cli_engine.c — the one place that maps an engine choice to the code that executes a graph.
 * The LLVM JIT joins here as another case (and becomes the default) when the backend lands. */
#include "cli.h"

vitc_status cli_execute(cli_engine engine, const vitc_graph *g, const vitc_value *inputs,
                        vitc_value *outputs, vitc_error *err) {
  switch (engine) {
  case CLI_ENGINE_INTERP: return vitc_eval_graph(g, inputs, outputs, err);
  }
  return vitc_fail(err, VITC_ERR_INTERNAL, "unknown engine %d", (int)engine);
}
