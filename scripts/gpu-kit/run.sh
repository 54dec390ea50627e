#!/usr/bin/env bash
# darkroom's GPU proof in one command, on a bare machine (no Node, no Redis, no network).
# Unpack the kit anywhere, then:   bash darkroom-gpu-kit/run.sh
#   KIT_PROVIDERS   providers to try, in order (default cuda,webgpu,cpu; cpu is the reference)
#   KIT_DEADLINE_S  seconds after which the rest is skipped and reported as such (default 480)
#   OUT             where gpu-report.json and gpu-report.md go (default: beside this script)
# Writes only inside its own folder (work/) and to $OUT. Always exits 0: what failed is in the report.
set -u
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPORT_DIR="${OUT:-$KIT}"
WORK="$KIT/work"
PROVIDERS="${KIT_PROVIDERS:-cuda,webgpu,cpu}"
rm -rf "$WORK"
mkdir -p "$WORK/tmp" "$REPORT_DIR"
export TMPDIR="$WORK/tmp"
export PATH="$KIT/redis:$KIT/bin:$PATH"
NOTES="$WORK/setup.txt"
: >"$NOTES"
note() { echo "[kit] $*"; echo "$*" >>"$NOTES"; }

# WebGPU (Dawn) dlopens libvulkan.so.1; the NVIDIA driver's Vulkan ICD also needs GLVND's libGLdispatch.
# A bare machine has neither: unpack Debian's packages inside the kit and point the loader at them.
setup_vulkan() {
  if ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
    note "vulkan loader: the system's ($(ldconfig -p | grep -m1 'libvulkan\.so\.1' | sed 's/.*=> //'))"
  else
    local root="$WORK/gl" f
    mkdir -p "$root"
    for f in "$KIT"/gl-debs/*.deb; do
      if command -v dpkg >/dev/null 2>&1; then dpkg -x "$f" "$root"
      else (cd "$WORK/tmp" && ar x "$f" data.tar.xz && tar -xJf data.tar.xz -C "$root" && rm -f data.tar.xz)
      fi || note "could not unpack $(basename "$f")"
    done
    export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    note "vulkan loader: the kit's ($(ls "$KIT"/gl-debs | tr '\n' ' ')) unpacked in $root"
  fi
  if [ -d /usr/local/nvidia/lib64 ]; then export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/nvidia/lib64"; fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  local egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1 && [ -f "$icd" ]; then
    export VK_DRIVER_FILES="$icd"
  fi
  if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && ! ls /usr/share/glvnd/egl_vendor.d/*.json >/dev/null 2>&1 && [ -f "$egl" ]; then
    export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
  fi
  note "vulkan drivers: VK_DRIVER_FILES=${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-(unset)}}; system ICDs: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"
}

note "kit: $KIT; providers: $PROVIDERS; machine: $(uname -srm)"
case ",$PROVIDERS," in *,webgpu,*) setup_vulkan ;; esac

# A report by hand, for when the runner itself could not write one (no usable Node, a crash).
fallback_report() {
  local why="$1" tail_json
  tail_json="$(tail -c 6000 "$WORK/runner.log" 2>/dev/null | tr -d '\000-\010\013-\037' | sed 's/\\/\\\\/g; s/"/\\"/g' | awk '{printf "%s\\n", $0}')"
  printf '{\n  "ok": false,\n  "failures": ["%s"],\n  "runner_output_tail": "%s"\n}\n' "$why" "$tail_json" >"$REPORT_DIR/gpu-report.json"
  printf '# darkroom GPU kit report\n\n**The run failed before the runner wrote its report:** %s\n\nThe runner'"'"'s last output:\n\n```\n%s\n```\n' "$why" "$(tail -c 6000 "$WORK/runner.log" 2>/dev/null)" >"$REPORT_DIR/gpu-report.md"
  echo "[kit] $why; wrote $REPORT_DIR/gpu-report.json and gpu-report.md"
}

rm -f "$REPORT_DIR/gpu-report.json" "$REPORT_DIR/gpu-report.md"
if ! "$KIT/bin/node" --version >>"$NOTES" 2>&1; then
  fallback_report "the kit's Node binary does not run here: $(tail -n 3 "$NOTES" | tr -d '"\\' | tr '\n' ' ')"
  exit 0
fi
"$KIT/bin/node" "$KIT/app/dist/scripts/gpu-kit/kit-runner.js" --kit "$KIT" --out "$REPORT_DIR" --providers "$PROVIDERS" \
  --setup "$NOTES" --deadline-s "${KIT_DEADLINE_S:-480}" 2>&1 | tee "$WORK/runner.log"
rc=${PIPESTATUS[0]}
if [ ! -s "$REPORT_DIR/gpu-report.json" ]; then
  fallback_report "the kit runner exited with status $rc without writing its report"
fi
exit 0
