/*
 * out.c — vigil-panel's output: one line per thing that happens, its kind
 * first: display, led, beep, siren (what the premises see and hear), tx, rx
 * (frames), queue, net, error. Scripts and tests read these lines.
 *
 * Never: print a code, a key or a device key. The premises lines come only
 * from the core's keypad port, so a duress entry prints what a normal one does.
 */
#include <stdarg.h>
#include <string.h>

#include "sim.h"

void sim_line(struct sim *s, const char *kind, const char *fmt, ...)
{
    FILE *f = s->out ? s->out : stdout;
    fprintf(f, "%s ", kind);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
}

const char *sim_display_text(const struct pnl_out *o, char *buf, size_t cap)
{
    switch (o->value) {
    case PNL_DISP_DISARMED: return "DISARMED";
    case PNL_DISP_NOT_READY: snprintf(buf, cap, "NOT READY zone %u", o->value2); return buf;
    case PNL_DISP_EXIT_DELAY: return "EXIT DELAY";
    case PNL_DISP_ARMED_AWAY: return "ARMED AWAY";
    case PNL_DISP_ARMED_STAY: return "ARMED STAY";
    case PNL_DISP_ARMED_NIGHT: return "ARMED NIGHT";
    case PNL_DISP_ARMED_INSTANT: return "ARMED INSTANT";
    case PNL_DISP_ENTRY_DELAY: return "ENTRY DELAY";
    case PNL_DISP_ALARM:
        if (o->value2 == 0)
            return "ALARM keypad";      /* the fire key */
        snprintf(buf, cap, "ALARM zone %u", o->value2);
        return buf;
    case PNL_DISP_LOCKED: return "LOCKED";
    case PNL_DISP_PROGRAM: return "PROGRAM";
    case PNL_DISP_REFUSED:
        snprintf(buf, cap, "REFUSED %s %s slot %u", pnl_rule_id((enum pnl_rule)(o->value2 >> 8)),
                 pnl_rule_name((enum pnl_rule)(o->value2 >> 8)), o->value2 & 0xFFu);
        return buf;
    case PNL_DISP_WEAK: return "WEAK CODE";
    default: snprintf(buf, cap, "? %u", o->value); return buf;
    }
}

void sim_keypad_out(struct pnl_keypad *k, const struct pnl_out *o)
{
    struct sim_panel *sp = (struct sim_panel *)((char *)k - offsetof(struct sim_panel, keypad));
    struct sim *s = sp->sim;
    char buf[64], pre[8] = "";
    if (o->part != 1)
        snprintf(pre, sizeof pre, "p%u ", o->part);
    if (o->part == 1) {
        if (o->kind == PNL_OUT_LED_ARMED)
            sp->led_armed = o->value != 0;
        else if (o->kind == PNL_OUT_SIREN)
            sp->siren = (uint8_t)o->value;
        else if (o->kind == PNL_OUT_KEY_BEEP)
            snprintf(sp->beep, sizeof sp->beep, "key");
        else if (o->kind == PNL_OUT_ACK_BEEP)
            snprintf(sp->beep, sizeof sp->beep, "ok");
        else if (o->kind == PNL_OUT_ERR_BEEP)
            snprintf(sp->beep, sizeof sp->beep, "error");
    }
    switch (o->kind) {
    case PNL_OUT_DISPLAY: {
        const char *t = sim_display_text(o, buf, sizeof buf);
        if (o->part == 1)
            snprintf(sp->display, sizeof sp->display, "%s", t);
        if (!s->quiet)
            sim_line(s, "display", "%s%s", pre, t);
        break;
    }
    case PNL_OUT_KEY_BEEP: if (!s->quiet) sim_line(s, "beep", "%skey", pre); break;
    case PNL_OUT_ACK_BEEP: if (!s->quiet) sim_line(s, "beep", "%sok", pre); break;
    case PNL_OUT_ERR_BEEP: if (!s->quiet) sim_line(s, "beep", "%serror", pre); break;
    case PNL_OUT_CHIME: if (!s->quiet) sim_line(s, "beep", "%schime zone %u", pre, o->value); break;
    case PNL_OUT_SIREN:
        if (!s->quiet)
            sim_line(s, "siren", "%s%s", pre, o->value == 0 ? "off" : o->value == 2 ? "fire"
                                                                              : "burglary");
        break;
    case PNL_OUT_LED_ARMED: if (!s->quiet) sim_line(s, "led", "%sarmed %s", pre, o->value ? "on" : "off"); break;
    default: break;
    }
}

static const char *pname(unsigned p) { return p == 0 ? "primary" : "backup"; }

/* The frame as text (the wire is ASCII; hex ciphertext stays hex). */
static void frame_text(const struct comm_note *no, char *buf, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < no->frame_len && j + 1 < cap; i++) {
        uint8_t c = no->frame[i];
        if (c == '\n' || c == '\r')
            continue;
        buf[j++] = (c >= 0x20 && c < 0x7F) ? (char)c : '.';
    }
    buf[j] = '\0';
}

void sim_comm_note(struct comm_notes *n, const struct comm_note *no)
{
    struct sim_panel *sp = (struct sim_panel *)((char *)n - offsetof(struct sim_panel, notes));
    struct sim *s = sp->sim;
    char cid[16] = "", raw[DC09_FRAME_MAX + 1];
    if (no->cid.event != 0 || no->cid.qualifier != 0)
        dc09_cid_format(&no->cid, cid, sizeof cid);
    if (no->kind == COMM_N_ACKED) {
        s->acked_total++;
        sim_bench_acked(s, sp, no);
    } else if (no->kind == COMM_N_POLL_ACKED) {
        s->polls_total++;
    }
    if (s->quiet && no->kind != COMM_N_STORAGE && no->kind != COMM_N_GIVE_UP)
        return;
    switch (no->kind) {
    case COMM_N_TX:
        frame_text(no, raw, sizeof raw);
        if (no->event_id == 0)
            sim_line(s, "tx", "%s %s NULL seq=0000%s%s frame=%s", pname(no->path), sp->account,
                     no->encrypted ? " encrypted" : "", no->err ? " (path cannot send)" : "", raw);
        else if (no->sia != NULL)
            sim_line(s, "tx", "%s %s SIA-DCS seq=%04u sia=\"%s\" area=%u zone=%u text=\"%s\" try=%u%s%s frame=%s",
                     pname(no->path), sp->account, no->seq, no->sia, no->cid.partition,
                     no->cid.zone, no->text, no->attempt, no->encrypted ? " encrypted" : "",
                     no->err ? " (path cannot send)" : "", raw);
        else
            sim_line(s, "tx", "%s %s ADM-CID seq=%04u cid=\"%s\" try=%u%s%s frame=%s",
                     pname(no->path), sp->account, no->seq, cid, no->attempt,
                     no->encrypted ? " encrypted" : "", no->err ? " (path cannot send)" : "", raw);
        break;
    case COMM_N_RX:
        frame_text(no, raw, sizeof raw);
        sim_line(s, "rx", "%s %s frame=%s", pname(no->path), sp->account, raw);
        break;
    case COMM_N_ACKED:
        if (no->sia != NULL) {
            sim_line(s, "rx", "%s %s ack seq=%04u sia=\"%s\" after %llu ms", pname(no->path),
                     sp->account, no->seq, no->sia, (unsigned long long)no->latency_ms);
            sim_line(s, "queue", "delivered sia=\"%s\" text=\"%s\" seq=%04u (%u left)", no->sia,
                     no->text, no->seq, pnl_queue_count(&sp->p) + comm_trouble_count(&sp->c));
            break;
        }
        sim_line(s, "rx", "%s %s ack seq=%04u cid=\"%s\" after %llu ms", pname(no->path),
                 sp->account, no->seq, cid, (unsigned long long)no->latency_ms);
        sim_line(s, "queue", "delivered cid=\"%s\" seq=%04u (%u left)", cid, no->seq,
                 pnl_queue_count(&sp->p) + comm_trouble_count(&sp->c));
        break;
    case COMM_N_POLL_ACKED:
        sim_line(s, "rx", "%s %s ack seq=0000 (poll)", pname(no->path), sp->account);
        break;
    case COMM_N_IGNORED:
        sim_line(s, "rx", "%s %s ignored seq=%04u: %s", pname(no->path), sp->account, no->seq,
                 comm_ignored_name(no->reason));
        break;
    case COMM_N_CLOCK:
        sim_line(s, "rx", "%s %s nak: clock off by %+llds, corrected %+llds", pname(no->path),
                 sp->account, (long long)no->delta_s, (long long)no->applied_s);
        break;
    case COMM_N_DUH:
        sim_line(s, "rx", "%s %s duh seq=%04u cid=\"%s\": receiver cannot process (trouble)",
                 pname(no->path), sp->account, no->seq, cid);
        break;
    case COMM_N_GIVE_UP:
        sim_line(s, "error", "%s: cid=\"%s\" refused (DUH) on every path: dropped", sp->account, cid);
        break;
    case COMM_N_TIMEOUT:
        sim_line(s, "net", "%s %s no answer seq=%04u try=%u", pname(no->path), sp->account,
                 no->seq, no->attempt);
        break;
    case COMM_N_PATH_FAIL:
        sim_line(s, "net", "%s %s path failed", pname(no->path), sp->account);
        break;
    case COMM_N_PATH_RESTORE:
        sim_line(s, "net", "%s %s path restored", pname(no->path), sp->account);
        break;
    case COMM_N_STORAGE:
        sim_line(s, "error", "%s: storage: %s", sp->account,
                 no->err <= -1 && no->err >= -8 ? comm_strerror(no->err) : pnl_strerror(no->err));
        break;
    default:
        break;
    }
}
