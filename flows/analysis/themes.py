"""The theme list: nine default themes with bilingual labels and words, extendable as data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

THEME_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
"""A theme key: lower-case ASCII, digits and `_`, at most 32 characters (`delivery`)."""


class ThemeBookError(ValueError):
    """Theme data an admin wrote is malformed (the message says where and why; `key` and
    `field` say it to a program: `key`, `entry`, `words`, `label_zh` or `label_en`)."""

    def __init__(self, message: str, *, key: object = None, field: str = "entry") -> None:
        super().__init__(message)
        self.key = key
        self.field = field


@dataclass(frozen=True)
class Theme:
    """One theme: a stable key, its labels, and the words (zh and en) that cite it."""

    key: str
    label_zh: str
    label_en: str
    words: tuple[str, ...] = ()

    def label(self, language: str) -> str:
        """The label in `language` (`zh` or `en`; anything else reads English)."""
        return self.label_zh if language == "zh" else self.label_en


@dataclass(frozen=True)
class ThemeBook:
    """The themes an analysis may assign, in display order. Immutable; `extended` makes a new
    book with more words or more themes."""

    themes: tuple[Theme, ...]
    _by_key: dict[str, Theme] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {theme.key: theme for theme in self.themes})

    def keys(self) -> tuple[str, ...]:
        """The theme keys in display order."""
        return tuple(theme.key for theme in self.themes)

    def get(self, key: str) -> Theme | None:
        """The theme with this key, or None."""
        return self._by_key.get(key)

    def extended(self, data: Mapping[str, Any]) -> ThemeBook:
        """A new book with `data` added: `{key: {"words": [...], "label_zh": ..., "label_en":
        ...}}`. A known key gains the words (labels replaced when given); a new key becomes a
        new theme (both labels required). Raises ThemeBookError on malformed data."""
        themes = list(self.themes)
        for key, entry in data.items():
            themes = _with_entry(themes, key, entry)
        return ThemeBook(tuple(themes))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ThemeBook:
        """A book made only of `data` (same shape as `extended`)."""
        return cls(()).extended(data)


def _with_entry(themes: list[Theme], key: object, entry: object) -> list[Theme]:
    if not isinstance(key, str) or not THEME_KEY.fullmatch(key):
        raise ThemeBookError(
            f"theme {key!r}: a key is lower-case ascii like `delivery`", key=key, field="key"
        )
    if not isinstance(entry, Mapping):
        raise ThemeBookError(f"theme {key!r}: expected a mapping with `words` and labels", key=key)
    unknown = set(entry) - {"words", "label_zh", "label_en"}
    if unknown:
        raise ThemeBookError(
            f"theme {key!r}: unknown field(s) {', '.join(sorted(map(str, unknown)))}", key=key
        )
    words = entry.get("words", [])
    if not isinstance(words, list) or not all(
        isinstance(w, str) and w.strip().lstrip("~").strip() for w in words
    ):
        raise ThemeBookError(
            f"theme {key!r}: `words` must be a list of non-empty texts", key=key, field="words"
        )
    labels = {name: entry.get(name) for name in ("label_zh", "label_en")}
    for name, label in labels.items():
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise ThemeBookError(
                f"theme {key!r}: `{name}` must be a non-empty text", key=key, field=name
            )
    cleaned = tuple(w.strip() for w in words)
    for i, theme in enumerate(themes):
        if theme.key == key:
            themes[i] = Theme(
                key,
                labels["label_zh"] or theme.label_zh,
                labels["label_en"] or theme.label_en,
                theme.words + tuple(w for w in cleaned if w not in theme.words),
            )
            return themes
    if labels["label_zh"] is None or labels["label_en"] is None:
        missing = "label_zh" if labels["label_zh"] is None else "label_en"
        raise ThemeBookError(
            f"theme {key!r}: a new theme needs `label_zh` and `label_en`", key=key, field=missing
        )
    return [*themes, Theme(key, labels["label_zh"], labels["label_en"], cleaned)]


def _theme(key: str, label_zh: str, label_en: str, words: str) -> Theme:
    return Theme(key, label_zh, label_en, tuple(words.split("|")))


DEFAULT_THEMES: tuple[Theme, ...] = (
    _theme(
        "delivery",
        "物流配送",
        "Delivery",
        "快递|物流|配送|送货|发货|到货|收货|收到货|派送|派件|快递员|快递小哥|配送员|送餐|骑手"
        "|包裹|运输|寄送|寄到|送到|送来|签收|出货|运送|送达|顺丰|中通|圆通|韵达|申通|邮政|ems"
        "|菜鸟|驿站|包装|外包装|丢件|物流信息|单号|极速达|次日达|当日达|送错|送得|送|外卖|~收到"
        "|~才到|~到了|~就到|~还没到|~没收到|~未收到|~收不到|~冇收到|~寄|~货|待发货|送餐员|快递公司"
        "|送货员|~包|配送费"
        "|~盒子|~箱子|压扁|送餐慢|外卖员|跑腿小哥|自提点|快递柜|丰巢|派件员|物流公司|发快递"
        "|寄快递|packed|packing|well packed|wrapped|delivery|deliver|delivered|delivering"
        "|shipping|ship|shipped|shipment|courier"
        "|parcel"
        "|package|packaging|~arrived|~arrive|~arrival|~arrives|transit|dispatch|dispatched|tracking"
        "|carrier|ups|fedex|dhl|usps|driver|delivery guy|box|~came|~received|postage|~order",
    ),
    _theme(
        "price",
        "价格收费",
        "Price",
        "价格|价钱|价位|价|贵|便宜|性价比|划算|实惠|收费|费用|运费|会员费|手续费|涨价|降价|优惠"
        "|折扣|打折|不值|物有所值|物超所值|~钱|扣费|乱收费|定价|抵|唔抵|几抵|价码|多收|账单"
        "|话费|cp值|虚高|扣钱|多扣|~值|收钱|划得来|公道|~平"
        "|充值|扣款|收了|退押金|押金|套餐|资费|会费|年费|月费|服务费|小费|附加费|price|prices"
        "|subscription|tariff|surcharge|pricey|pricing|priced|expensive|cheap|cheaper|cost|costs"
        "|costly|fee|fees"
        "|charge|charged|charges|overpriced|value for money|affordable|bill|billing|billed"
        "|discount|~deal|~worth|~value|ripoff|rip off|money|~paid|~pay|shipping cost|shipping fee"
        "|delivery fee|delivery charge|shipping costs|delivery fees"
        "|overcharged|overcharge|overcharging|hidden fees|隐形消费|restocking fee",
    ),
    _theme(
        "staff",
        "服务态度",
        "Staff",
        "客服|服务|服务员|态度|店员|员工|工作人员|职员|师傅|工程师|经理|前台|收银员|导购|销售"
        "|小姐姐|人员|售货员|接线员|柜员|营业员|热情|耐心|礼貌|有礼貌|冷漠|敷衍|爱理不理|不理"
        "|一问三不知|阴阳怪气|客气|专业|服务周到|周到|亲切|售后态度|店家|商家态度|老板|坐席"
        "|~人|~小哥|技术员|维修员|护士|医生|司机|导游|保安|主管|专员|顾问|接待"
        "|话务员|店长|服务台|客服专员|员工们|小伙子|小姑娘|阿姨|大姐|姐姐|师父|诚恳|staff|service"
        "|crew|host|hostess|nurse|doctor|teller|agent|agents|rep|reps|representative|support"
        "|employee|employees|cashier"
        "|manager|team|attitude|rude|polite|friendly|courteous|helpful|unhelpful|customer service"
        "|customer support|waiter|waitress|technician|clerk|personnel|operator|advisor"
        "|consultant|receptionist|people|guy|lady|~person|professional|unprofessional|patient"
        "|knowledgeable|incompetent|dismissive|attentive",
    ),
    _theme(
        "quality",
        "产品质量",
        "Quality",
        "质量|品质|做工|材质|面料|坏|坏了|破|裂|瑕疵|质感|耐用|味道|口感|好吃|难吃|新鲜|分量"
        "|尺码|效果|产品|商品|~东西|质素|用料|故障|说明书|色差|正品|假货|次品|菜|食物|菜品|饭菜"
        "|衣服|衫|裤|裤子|袜子|外套|裙子|鞋|鞋子|手机壳|机器|部机|电池|屏幕|图片|货不对板|难食"
        "|好食|~嘢"
        "|变质|过期|发霉|异味|掉色|起球|变形|漏水|耐穿|~凉|~冷|味|食材|款式|尺寸|颜色"
        "|音质|画质|手感|水果|沙发|充电器|耳机|家具|配件|零件|电器|食品|蔬菜|肉|饮料|咖啡|奶茶|汤"
        "|饭|面|蛋糕|面包|床|床垫|桌子|椅子|灯|手机|电脑|电视|冰箱|空调|洗衣机|衣物|包包|化妆品"
        "|护肤品|quality|product|products|item|items|broke|broken|durable|defective|faulty"
        "|material"
        "|build|build quality|stopped working|taste|tasted|tasty|fresh|stale|food|meal|~damaged"
        "|~cold|fabric|size|sizing|battery|screen|device|works|~worked"
        "|锅|碗|杯子|花|鲜花|枕头|被子|玩具|手艺",
    ),
    _theme(
        "wait",
        "等待时间",
        "Wait time",
        "排队|等待|等候|~等|~等了|~等咗|~半天|~很久|~好久|回复|回应|回电|响应|占线|打不进|没人接"
        "|接电话|轮到|上菜|处理速度|等待时间|等候时间|回得|回消息|秒回|及时回复|慢回|回"
        "|排|~久|~速度|粒钟|~耐|回覆"
        "|~马上|~立刻|~立即|~第一时间|~站了|~半小时|~半个小时|久等|等太久|好耐|咁耐|wait|waited"
        "|waiting|queue|queued|line"
        "|hold|on hold|respond|reply|replied|response"
        "|responses|right away|wait time|waiting time|~seen|~forever|callback"
        "|call back|~slow to respond"
        "|lines|queues|long line|long lines"
        "|随到随办|picked up the phone|pick up the phone|打不通|接不通|没人理|冇人理"
        "|answers the phone|answer the phone|answered the phone",
    ),
    _theme(
        "resolution",
        "问题解决",
        "Resolution",
        "解决|搞定|搞掂|修好|修复|没下文|下文|踢皮球|~处理|处理好|~问题|解决问题|售后|修|维修"
        "|跟进|答复|没动静|推诿|推脱|~弄好"
        "|说法|处理结果|赔偿|补偿|解决方案|理赔|赔付|处理方案|后续|没人管|resolve|resolved"
        "|~complaint|~complaints|compensation|solution|~case|escalate|escalated|resolution|solve"
        "|solved|fix|fixed|sorted|sort out|sorted out|handled"
        "|~problem|~issue|~issues|~problems|follow up|follow-up|unresolved"
        "|报修|保修期内",
    ),
    _theme(
        "refund",
        "退换退款",
        "Refunds & returns",
        "退款|退货|换货|退换|退钱|退回|退费|返款|~到账|七天无理由|无理由|退|换|退换货"
        "|退款申请|退单|退押金|退货申请|退换申请|take it back|take back|send it back|sent it back"
        "|refund|refunds|return label|refunded|return"
        "|returns|returned|exchange|exchanged|money back"
        "|chargeback|replacement|replace|replaced",
    ),
    _theme(
        "app",
        "App/网站/小程序",
        "App & website",
        "app|应用|小程序|网站|网页|官网|软件|系统|界面|页面|闪退|卡顿|死机|当机|登录|登陆|验证码"
        "|~更新|~升级|~下单|~支付|付款方式|功能|按钮|bug|加载|打不开|网络|网页版|ui|夜间模式"
        "|公众号|~线上|~网上|客户端|apk|程序|操作|介面|接口|页|链接|二维码|闪屏|白屏|黑屏|掉线"
        "|登不上|注册|账号|密码|搜索|~卡"
        "|转圈|入口|闪退|加载|刷新|下载|安装|扫码|网页|付不了款|支付失败|website|site|load"
        "|loading|logout|log out|app store|web|online|login|log in|logging|logged|sign in"
        "|password|page|checkout"
        "|crash|crashes|crashing|crashed|bug|buggy|glitch|update|interface|ux|dark mode"
        "|payment options|user friendly|user-friendly|mobile|portal|browser|~search",
    ),
    _theme(
        "process",
        "流程手续",
        "Process",
        "流程|手续|步骤|繁琐|填表|表格|表|材料|资料|证明|审核|认证|实名|办理|跑腿|跑|趟|折腾|规定"
        "|政策|签字|发票|~办|环节|复杂|~申请|转接|排号|条款|规则|证件"
        "|开户|办卡|补卡|开通|注销|销户|过户|上传|拍照|填写|签名|盖章|手续繁杂|证明材料|process"
        "|procedure|procedures|paperwork|form|forms|steps|step|verification|verify"
        "|policy|bureaucracy|red tape|hoops|documents|sign up|signing up|registration|register"
        "|requirements|approval|application",
    ),
)
"""The nine default themes of issue 17. A word starting with `~` is weak: it cites its theme
only in a clause that cites no theme with a strong word ("东西" says quality in "东西还可以", not
in "东西的价格太贵")."""


@cache
def default_book() -> ThemeBook:
    """The default theme book (the nine themes)."""
    return ThemeBook(DEFAULT_THEMES)
