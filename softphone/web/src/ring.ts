// A soft two-note chime while a call rings, made with WebAudio: no audio file to fetch.
export class Ringer {
  private ctx: AudioContext | null = null;
  private timer: number | null = null;

  unlock(): void {
    try {
      this.ctx ??= new AudioContext();
      if (this.ctx.state === "suspended") void this.ctx.resume();
    } catch {
      this.ctx = null; // no audio output: the page still shows the call
    }
  }

  start(): void {
    this.stop();
    this.chime();
    this.timer = window.setInterval(() => this.chime(), 3000);
  }

  stop(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
  }

  private chime(): void {
    const ctx = this.ctx;
    if (ctx === null || ctx.state !== "running") return;
    const notes: [number, number][] = [
      [659.25, 0],
      [523.25, 0.35],
    ];
    for (const [freq, offset] of notes) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      const start = ctx.currentTime + offset;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.15, start + 0.04);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.6);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.65);
    }
  }
}
