"""System metrics as system/* keys: CPU and memory from /proc, GPUs from nvidia-smi when it is there."""

import os
import shutil
import subprocess
import threading
import time


def _cpu_times():
    try:
        with open("/proc/stat", encoding="ascii") as source:
            fields = source.readline().split()[1:]
    except OSError:
        return None
    values = [int(field) for field in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values), idle


def _meminfo():
    found = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as source:
            for line in source:
                name, _, rest = line.partition(":")
                found[name] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return {}
    return found


def _process_rss_bytes():
    try:
        with open("/proc/self/status", encoding="ascii") as source:
            for line in source:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


GPU_QUERY = "index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw"


def parse_nvidia_smi(text):
    """system/gpu.<index>.* values from `nvidia-smi --query-gpu=<GPU_QUERY> --format=csv,noheader,nounits`."""
    metrics = {}
    for line in text.strip().splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) < 4:
            continue

        def number(text):
            try:
                return float(text)
            except ValueError:  # "[N/A]", "[Not Supported]"
                return None

        index = fields[0]
        values = {
            "utilization": number(fields[1]),
            "memory_used_mb": number(fields[2]),
            "memory_total_mb": number(fields[3]),
            "temperature_c": number(fields[4]) if len(fields) > 4 else None,
            "power_w": number(fields[5]) if len(fields) > 5 else None,
        }
        used, total = values["memory_used_mb"], values["memory_total_mb"]
        if used is not None and total:
            values["memory_percent"] = 100.0 * used / total
        for name, value in values.items():
            if value is not None:
                metrics["system/gpu.%s.%s" % (index, name)] = value
    return metrics


def gpu_metrics():
    executable = shutil.which("nvidia-smi")
    if not executable:
        return {}
    try:
        completed = subprocess.run(
            [executable, "--query-gpu=" + GPU_QUERY, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    return parse_nvidia_smi(completed.stdout) if completed.returncode == 0 else {}


class SystemMetrics(threading.Thread):
    """Samples every `interval` seconds (and once more at stop); step = whole seconds since the run started."""

    def __init__(self, log, interval=10.0):
        super().__init__(name="scaleboard-system-metrics", daemon=True)
        self._log = log
        self.interval = interval
        self._halt = threading.Event()
        self._t0 = time.monotonic()
        self._last_cpu = _cpu_times()
        self._use_gpu = shutil.which("nvidia-smi") is not None

    def sample(self):
        metrics = {}
        cpu = _cpu_times()
        if cpu is not None and self._last_cpu is not None:
            total, idle = cpu[0] - self._last_cpu[0], cpu[1] - self._last_cpu[1]
            if total > 0:
                metrics["system/cpu_percent"] = 100.0 * (total - idle) / total
        self._last_cpu = cpu
        memory = _meminfo()
        if "MemTotal" in memory and "MemAvailable" in memory:
            used = memory["MemTotal"] - memory["MemAvailable"]
            metrics["system/memory_percent"] = 100.0 * used / memory["MemTotal"]
            metrics["system/memory_used_gb"] = used / 2**30
        rss = _process_rss_bytes()
        if rss is not None:
            metrics["system/process_memory_mb"] = rss / 2**20
        try:
            metrics["system/load_1m"] = os.getloadavg()[0]
        except (AttributeError, OSError):
            pass
        if self._use_gpu:
            metrics.update(gpu_metrics())
        if metrics:
            self._log(metrics, int(time.monotonic() - self._t0))

    def run(self):
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self):
        self._halt.set()
        self.sample()
