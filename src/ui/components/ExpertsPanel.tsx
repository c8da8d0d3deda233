export function ExpertsPanel() {
  return (
    <aside className="experts" aria-label="Experts">
      <h2>Experts</h2>
      <p className="muted">The experts of the loaded bundle appear here, each with its share of every answer.</p>
      <ul className="expert-list" aria-label="Loaded experts" />
      <div className="drop-zone" aria-disabled="true">
        <strong>Add your own expert</strong>
        <span>Drop a twinmerge expert file or a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors).</span>
      </div>
    </aside>
  );
}
