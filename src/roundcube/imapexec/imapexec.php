<?php

/**
 * imapexec: Roundcube plugin for imapexec's EXECUTE (see imapexec's
 * README, "Roundcube").
 *
 * - A driver for the markasjunk plugin (markasjunk/imapexec.php, class
 *   markasjunk_imapexec; markasjunk_learning_driver = 'imapexec'): "Junk"
 *   runs the configured commands (default: "blacklist add SENDER") and
 *   "Not junk" others ("whitelist add SENDER", "blacklist remove SENDER")
 *   for the sender of each message.
 * - A Settings section "Blocked and allowed senders": both lists as the
 *   server has them, with add and remove; shown only when the server
 *   advertises EXECUTE and offers both services to this user.
 *
 * Every EXECUTE runs on a short-lived connection of its own
 * (imapexec_client), which does imapexec's post-login sync.
 *
 * @license GNU GPLv3+ (as Roundcube's plugins); part of imapexec
 */
class imapexec extends rcube_plugin
{
    public $task = 'mail|settings';

    /** @var rcmail */
    private $rc;

    /** @var array|null|false Discovered services (false: not asked yet) */
    private $services = false;

    /**
     * init(): load the config and register the Settings hooks.
     */
    public function init()
    {
        $this->rc = rcmail::get_instance();
        $this->load_config('config.inc.php.dist');
        $this->load_config();
        require_once $this->home . '/imapexec_client.php';

        if ($this->rc->task == 'settings') {
            $this->add_texts('localization/');
            $this->add_hook('preferences_sections_list', [$this, 'sections_list']);
            $this->add_hook('preferences_list', [$this, 'prefs_list']);
            $this->add_hook('preferences_save', [$this, 'prefs_save']);
        }
    }

    /**
     * lists(): the lists of the Settings section.
     *
     * @return array service name => localization label of its block
     */
    private function lists()
    {
        return [
            $this->rc->config->get('imapexec_blocked_service', 'blacklist') => 'blocked',
            $this->rc->config->get('imapexec_allowed_service', 'whitelist') => 'allowed',
        ];
    }

    /**
     * available(): the server advertises EXECUTE and offers this user every
     * service of the Settings section (asked once a request).
     *
     * @return bool
     */
    private function available()
    {
        if ($this->services === false) {
            $this->services = null;
            if ($conn = imapexec_client::open($this->rc)) {
                if ($conn->has_execute()) {
                    $this->services = $conn->services();
                }
                $conn->closeConnection();
            }
        }

        return is_array($this->services)
            && !array_diff(array_keys($this->lists()), $this->services);
    }

    /**
     * sections_list($args): hook preferences_sections_list; adds the
     * section when available().
     *
     * @param array $args The hook's arguments ('list', 'cols')
     *
     * @return array
     */
    public function sections_list($args)
    {
        if ($this->available()) {
            $args['list']['imapexec'] = [
                'id'      => 'imapexec',
                'section' => $this->gettext('section'),
            ];
        }

        return $args;
    }

    /**
     * prefs_list($args): hook preferences_list; the section's blocks: for
     * each list its addresses (each with a "remove" checkbox) and a field
     * to add one.
     *
     * @param array $args The hook's arguments ('section', 'blocks', ...)
     *
     * @return array
     */
    public function prefs_list($args)
    {
        if ($args['section'] != 'imapexec') {
            return $args;
        }

        $conn  = imapexec_client::open($this->rc);
        $first = true;
        foreach ($this->lists() as $service => $label) {
            $block = ['name' => rcube::Q($this->gettext($label)), 'options' => []];
            if ($first) {
                $block['options']['hint'] = [
                    'title'   => '',
                    'content' => html::span(['class' => 'hint'], rcube::Q($this->gettext('hint'))),
                ];
                $first = false;
            }
            $id    = 'imapexec_' . $label;
            $res   = $conn ? $conn->run([$service, 'list']) : null;

            if (!$res || $res['code'] != imapexec_client::ERROR_OK) {
                $block['options']['error'] = [
                    'title'   => rcube::Q($this->gettext('error')),
                    'content' => html::span(
                        ['class' => 'imapexec-error'],
                        rcube::Q(self::fill($this->gettext('listfailed'), [
                            'service' => $service,
                            'text'    => $res ? self::server_text($res) : $this->gettext('noconnection'),
                        ]))
                    ),
                ];
                $args['blocks'][$label] = $block;
                continue;
            }

            $addrs = array_values(array_filter(explode("\n", $res['out']), 'strlen'));
            if (!$addrs) {
                $block['options']['empty'] = [
                    'title'   => '',
                    'content' => html::span(['class' => 'hint imapexec-empty'], rcube::Q($this->gettext('empty'))),
                ];
            }

            foreach ($addrs as $i => $addr) {
                $cb = new html_checkbox([
                        'name'  => "_{$id}_remove[]",
                        'id'    => "{$id}_rm{$i}",
                        'value' => $addr,
                        'class' => 'imapexec-remove',
                ]);
                $block['options']["addr$i"] = [
                    'title'   => html::label(['for' => "{$id}_rm{$i}", 'class' => 'imapexec-addr'], rcube::Q($addr)),
                    'content' => html::label(
                        ['for' => "{$id}_rm{$i}"],
                        $cb->show() . ' ' . rcube::Q($this->gettext('remove'))
                    ),
                ];
            }

            $input = new html_inputfield([
                    'name'        => "_{$id}_add",
                    'id'          => "{$id}_add",
                    'size'        => 40,
                    'class'       => 'imapexec-add',
                    'placeholder' => $this->gettext('addplaceholder'),
            ]);
            $block['options']['add'] = [
                'title'   => html::label("{$id}_add", rcube::Q($this->gettext('add'))),
                'content' => $input->show(),
            ];

            $args['blocks'][$label] = $block;
        }

        if ($conn) {
            $conn->closeConnection();
        }

        return $args;
    }

    /**
     * prefs_save($args): hook preferences_save; runs "SERVICE remove" for
     * the checked addresses and "SERVICE add" for a typed one, then the
     * section is shown again (with the lists as the server has them now).
     * Nothing goes to Roundcube's own preferences.
     *
     * @param array $args The hook's arguments ('section', 'prefs', ...)
     *
     * @return array 'abort' set; 'result' and 'message' say how it went
     */
    public function prefs_save($args)
    {
        if ($args['section'] != 'imapexec') {
            return $args;
        }

        $args['abort']  = true;
        $args['result'] = true;
        $errors         = [];
        $conn           = imapexec_client::open($this->rc);

        foreach ($this->lists() as $service => $label) {
            $id     = 'imapexec_' . $label;
            $remove = (array) rcube_utils::get_input_value("_{$id}_remove", rcube_utils::INPUT_POST, true);
            $add    = trim((string) rcube_utils::get_input_value("_{$id}_add", rcube_utils::INPUT_POST, true));
            $todo   = [];

            $remove = array_values(array_filter(array_map('strval', $remove), 'strlen'));
            if ($remove) {
                $todo[] = array_merge([$service, 'remove'], $remove);
            }
            if ($add !== '') {
                $todo[] = [$service, 'add', $add];
            }

            foreach ($todo as $cmd) {
                $res = $conn ? $conn->run($cmd) : null;
                if (!$res || $res['code'] != imapexec_client::ERROR_OK) {
                    $errors[] = self::fill($this->gettext('failed'), [
                        'command' => self::printable(implode(' ', $cmd)),
                        'text'    => $res ? self::server_text($res) : $this->gettext('noconnection'),
                    ]);
                }
            }
        }

        if ($conn) {
            $conn->closeConnection();
        }

        if ($errors) {
            $args['result']  = false;
            $args['message'] = implode('<br>', array_map(['rcube', 'Q'], $errors));
        }

        return $args;
    }

    /**
     * mark_senders($uids, $mbox, $which): for the markasjunk driver: run the
     * commands configured for $which ('junk' or 'notjunk') for the sender
     * (From, parsed) of each message; report refusals in the message area.
     *
     * @param array  $uids  Message UIDs
     * @param string $mbox  Their folder
     * @param string $which 'junk' or 'notjunk'
     *
     * @return array Error texts (also shown to the user), empty if none
     */
    public function mark_senders($uids, $mbox, $which)
    {
        $this->add_texts('localization/');
        $storage = $this->rc->get_storage();
        $cmds    = (array) $this->rc->config->get("imapexec_{$which}_commands", []);
        $senders = [];
        $errors  = [];

        foreach ((array) $uids as $uid) {
            $headers = $storage->get_message_headers($uid, $mbox);
            if (!$headers) {
                continue;
            }
            $from = rcube_mime::decode_address_list($headers->from, 1, true, $headers->charset);
            $from = reset($from);
            if (!empty($from['mailto'])) {
                $senders[$from['mailto']] = true;
            }
        }

        if (!$senders || !$cmds) {
            return $errors;
        }

        $conn = imapexec_client::open($this->rc);
        foreach (array_keys($senders) as $sender) {
            foreach ($cmds as $cmd) {
                $cmd = array_merge(array_map('strval', (array) $cmd), [(string) $sender]);
                $res = $conn ? $conn->run($cmd) : null;
                if (!$res || $res['code'] != imapexec_client::ERROR_OK) {
                    $errors[] = self::fill($this->gettext('senderfailed'), [
                        'sender'  => self::printable($sender),
                        'command' => implode(' ', array_slice($cmd, 0, -1)),
                        'text'    => $res ? self::server_text($res) : $this->gettext('noconnection'),
                    ]);
                }
            }
        }

        if ($conn) {
            $conn->closeConnection();
        }

        if ($errors) {
            // HTML-escaped here: the message area shows HTML
            $this->rc->output->show_message(implode('<br>', array_map(['rcube', 'Q'], $errors)), 'warning');
        }

        return $errors;
    }

    /**
     * fill($text, $vars): $text with each "$name" replaced by $vars[name],
     * all in one pass, so that a value (a sender from a From header, the
     * server's text) holding "$text" or "$command" stays as it is (rcube's
     * gettext 'vars' replaces one after the other, inside earlier values).
     *
     * @param string $text A localized text with $name placeholders
     * @param array  $vars name => value (plain text)
     *
     * @return string Plain text
     */
    public static function fill($text, $vars)
    {
        $map = [];
        foreach ($vars as $name => $value) {
            $map['$' . $name] = (string) $value;
        }

        return strtr($text, $map);
    }

    /**
     * printable($s): $s for a message: each control octet (CR, LF, ...,
     * as a decoded From may hold) shown as "?", so the text stays one line.
     *
     * @param string $s Plain text
     *
     * @return string
     */
    public static function printable($s)
    {
        return preg_replace('/[\x00-\x1F\x7F]/', '?', (string) $s);
    }

    /**
     * server_text($res): what the server said about a failed command: the
     * service's stderr if any, else the tagged response's text.
     *
     * @param array $res A result of imapexec_client::run()
     *
     * @return string Plain text, one line
     */
    private static function server_text($res)
    {
        $text = trim($res['err']) !== '' ? trim($res['err']) : $res['text'];

        return preg_replace('/[\x00-\x1F\x7F]+/', ' ', $text);
    }
}
