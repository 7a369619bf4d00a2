# The README's two commands: `make course` and `make test`. Both set up .venv first when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp
# A known-good torch/torchaudio pair for local and CI installs (pyproject keeps lower bounds only;
# Colab and conda keep their own matching pair).
TORCH_PIN := torch==2.11.0 torchaudio==2.11.0

.PHONY: setup course test lint nbtest pytest lab bench clean sample checkpoint colab-ci rehearsal

setup: $(STAMP)

# The venv takes about 6 GB (PyPI's torch is the CUDA build): say so before pip runs out of disk.
NEED_GB := 7

$(STAMP): pyproject.toml Makefile
	@free=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); \
	if [ "$$free" -lt $(NEED_GB) ] && ! [ -x $(BIN)/python ]; then \
		echo "make setup: $$free GB free on $$(pwd), the venv needs about $(NEED_GB) GB (torch is about 5 GB); free some space first" >&2; \
		exit 1; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PIN)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

## Run the whole course headless (full mode) into build/: executed notebooks and HTML.
course: setup
	$(BIN)/python scripts/run_course.py --out build

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: setup
	$(BIN)/python -m pytest tests -q

## Notebooks in quick mode (bundled sample, tiny budgets) under nbval.
## Twice: as committed (exercise stubs untouched: the notebooks continue with the package's
## reference code) and with every stub replaced by its solution (each exercise's check must pass).
nbtest: setup
	AUDIO_DENOISE_QUICK=1 MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax notebooks -q -p no:cacheprovider
	$(BIN)/python scripts/solve_notebooks.py --out notebooks/.solved
	AUDIO_DENOISE_QUICK=1 AUDIO_DENOISE_EXPECT_SOLVED=1 MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax notebooks/.solved -q -p no:cacheprovider

test: lint pytest nbtest

## The Colab job of CI: Colab's pins in a Python 3.13 venv (~/.cache/audio-denoise-ci, reused while
## ci/colab-constraints.txt is unchanged), the set-up cell's install, widget tests, notebooks.
colab-ci:
	bash ci/colab_job.sh

## Full-size rehearsal (1,440 RAVDESS-shaped clips at 48 kHz on 127.0.0.1): peak memory, times.
rehearsal: setup
	$(BIN)/python scripts/rehearse_full_ravdess.py

lab: setup
	$(BIN)/jupyter lab notebooks

## The quality benchmark per noise type (with DeepFilterNet3 and RNNoise) and the speed benchmark.
bench: setup
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements-peers.txt
	test -f data/realspeech/manifest.csv || $(BIN)/python scripts/fetch_real_speech.py
	test -f data/realnoise/manifest.csv || $(BIN)/python scripts/fetch_real_noise.py
	$(BIN)/python benchmarks/quality.py --checkpoint default=checkpoints/default.pt --pitch
	$(BIN)/python benchmarks/speed.py

## Regenerate the bundled sample (needs sox, flite, espeak-ng, festival and its voices: the apt-get
## line in data/README.md; the script names any missing one).
sample: setup
	$(BIN)/python scripts/make_sample.py

## Re-make the small checkpoint shipped for notebooks 05 and 06: the default recipe on the bundled
## sample plus six real voices from a Debian package (apt-get download; none in the benchmark), all
## 160 x 70 steps however fast the machine (no time budget; 40 minutes to over an hour on 2 CPU cores,
## where the command line's default of 20 x 70 fits the course's 10 minutes), then 20 x 70 steps more
## with a spectral term beside SI-SDR (--loss si_sdr+stft: it raises PESQ) and real noise recordings
## on one clip in 15 (the seven synthetic kinds listed twice, then "recorded": the training split of
## scripts/fetch_real_noise.py, never the benchmark's recordings), keeping the last epoch (the
## validation voices and noises are the sample's, not the real ones); about 8 more minutes.
checkpoint: setup
	test -f data/realspeech_train/manifest.csv || $(BIN)/python scripts/fetch_real_speech.py --set train
	test -f data/realnoise/manifest.csv || $(BIN)/python scripts/fetch_real_noise.py
	$(BIN)/audio-denoise train --data data/sample --extra-speech data/realspeech_train \
		--epochs 160 --out runs/checkpoint/pretrained.pt --seed 0 --time-budget 0 --overwrite
	$(BIN)/audio-denoise train --data data/sample --extra-speech data/realspeech_train \
		--init-from runs/checkpoint/pretrained.pt --loss si_sdr+stft --lr 3e-4 --epochs 20 \
		--noise white pink brown hum tones machine babble white pink brown hum tones machine babble recorded \
		--noise-dir data/realnoise/train --keep last \
		--out checkpoints/default.pt --seed 1 --time-budget 0 --overwrite

clean:
	rm -rf build .pytest_cache .ruff_cache
