/* Names of an execution trace's states and alignments (see exectrace.h), as
 * the read API spells them (docs/EXECTRACE.md). */
#include "model/exectrace.h"

static const char *const state_names[MW_XT_STATE_MAX + 1] = {"",        "running",   "runnable", "blocked",
                                                             "syscall", "gc_assist", "stopped"};

static const char *const alignment_names[] = {"", "clock_snapshot", "capture_time", "none"};

const char *mw__xt_state_name(int state) { return state >= 0 && state <= MW_XT_STATE_MAX ? state_names[state] : ""; }

const char *mw__xt_alignment_name(int alignment) {
  return alignment >= 0 && alignment <= MW_XT_ALIGN_NONE ? alignment_names[alignment] : "";
}
